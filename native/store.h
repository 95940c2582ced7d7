// store.{h,cc}: ObjectStore, the writing side of a loose-object directory
// shared by the commit engine (objects/) and checkout (the archive
// uncompressed-objects cache): temp files (O_TMPFILE when possible),
// existence checks, fan-out directories and links that never replace.
#pragma once

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "crash_point.h"
#include "errors.h"
#include "fsutil.h"
#include "xattr.h"

namespace ostree {

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

// linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; without it we go through
// /proc/self/fd. Decided once per process (defined in store.cc).
extern std::atomic<int> g_empty_path_ok;

// The repository side shared by content and metadata writers: objects/ and
// tmp/ directory fds, temp files, existence checks and no-replace links.
class ObjectStore {
 public:
  // The repository's objects/ and tmp/.
  ObjectStore(const std::string& repo, bool fsync)
      : ObjectStore(repo + "/objects", repo + "/tmp", fsync) {}
  // Any object directory (fan-out XX/ subdirectories) with a temp directory
  // on the same filesystem (e.g. the uncompressed-objects cache).
  ObjectStore(std::string objdir, std::string tmpdir, bool fsync)
      : objdir_(std::move(objdir)), tmpdir_(std::move(tmpdir)), fsync_(fsync) {}

  bool Open(SysError* err) {
    objfd_.Reset(open(objdir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!objfd_.ok()) return err->Set(errno, "open", objdir_);
    tmpfd_.Reset(open(tmpdir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!tmpfd_.ok()) return err->Set(errno, "open", tmpdir_);
    return true;
  }

  // Full path of an object ("XX/rest.ext" relative to the object directory).
  std::string ObjPath(const std::string& rel) const { return objdir_ + "/" + rel; }
  int objfd() const { return objfd_.get(); }
  bool fsync() const { return fsync_; }

  // "objects/XX/rest.ext" relative to objects/: "XX/rest.ext".
  static std::string Rel(const std::string& csum, const char* ext) {
    std::string r;
    r.reserve(csum.size() + 8);
    r.append(csum, 0, 2);
    r.push_back('/');
    r.append(csum, 2, std::string::npos);
    r.push_back('.');
    r += ext;
    return r;
  }

  bool Exists(const std::string& rel, bool* exists, SysError* err) {
    struct stat st;
    if (fstatat(objfd_.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      *exists = true;
      return true;
    }
    if (errno == ENOENT || errno == ENOTDIR) {
      *exists = false;
      return true;
    }
    return err->Set(errno, "fstatat", objdir_ + "/" + rel);
  }

  // A temp file for a new object: anonymous (O_TMPFILE) when the filesystem
  // supports it, else a random name in tmp/.
  struct Tmp {
    Fd fd;
    std::string name;  // "" = anonymous
  };

  bool CreateTmp(Tmp* t, SysError* err) {
    t->name.clear();
    if (tmpfile_ok_) {
      int fd = openat(tmpfd_.get(), ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) {
        t->fd.Reset(fd);
        return true;
      }
      if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
        return err->Set(errno, "open", tmpdir_);
      }
      tmpfile_ok_ = false;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
      std::string name = TempPathIn("");
      name.erase(0, 1);  // TempPathIn("") gives "/.ostree-tmp-…"
      int fd = openat(tmpfd_.get(), name.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd >= 0) {
        t->fd.Reset(fd);
        t->name = name;
        return true;
      }
      if (errno != EEXIST) return err->Set(errno, "open", tmpdir_ + "/" + name);
    }
    return err->Set(EEXIST, "open", tmpdir_);
  }

  // Where a temp file is, for error messages: its name in tmp/, or tmp/
  // itself for an anonymous one.
  std::string TmpPath(const Tmp& t) const {
    return t.name.empty() ? tmpdir_ : tmpdir_ + "/" + t.name;
  }

  // Drops a temp file that was not linked.
  void Discard(Tmp* t) {
    t->fd.Reset();
    if (!t->name.empty()) unlinkat(tmpfd_.get(), t->name.c_str(), 0);
    t->name.clear();
  }

  bool EnsureFanoutDir(const std::string& rel, SysError* err) {
    std::string dir = rel.substr(0, 2);
    if (mkdirat(objfd_.get(), dir.c_str(), 0755) < 0 && errno != EEXIST) {
      return err->Set(errno, "mkdir", objdir_ + "/" + dir);
    }
    return true;
  }

  // Gives the finished temp file its final name without replacing; closes it.
  bool Commit(Tmp* t, const std::string& rel, bool* existed, SysError* err) {
    *existed = false;
    CrashPoint();
    if (fsync_ && ::fsync(t->fd.get()) < 0) return err->Set(errno, "fsync", objdir_ + "/" + rel);
    bool linked_copy = false;  // named temp linked (not renamed): drop the temp name
    bool tried_mkdir = false;
    bool use_proc = !g_empty_path_ok.load(std::memory_order_relaxed);
    for (;;) {
      int r;
      if (t->name.empty()) {
        if (!use_proc) {
          r = linkat(t->fd.get(), "", objfd_.get(), rel.c_str(), AT_EMPTY_PATH);
        } else {
          char proc[64];
          snprintf(proc, sizeof proc, "/proc/self/fd/%d", t->fd.get());
          r = linkat(AT_FDCWD, proc, objfd_.get(), rel.c_str(), AT_SYMLINK_FOLLOW);
        }
      } else {
        r = static_cast<int>(syscall(SYS_renameat2, tmpfd_.get(), t->name.c_str(),
                                     objfd_.get(), rel.c_str(), RENAME_NOREPLACE));
        if (r < 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
          r = linkat(tmpfd_.get(), t->name.c_str(), objfd_.get(), rel.c_str(), 0);
          linked_copy = r == 0;
        }
      }
      if (r == 0) break;
      int e = errno;
      if (e == EEXIST) {
        *existed = true;
        break;
      }
      if (e == ENOENT && !tried_mkdir) {
        // The fan-out directory may be missing (or was just made by another thread).
        tried_mkdir = true;
        if (!EnsureFanoutDir(rel, err)) return false;
        continue;
      }
      if (e == ENOENT && t->name.empty() && !use_proc) {
        // The directory exists: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH.
        use_proc = true;
        g_empty_path_ok.store(0);
        continue;
      }
      return err->Set(e, t->name.empty() ? "linkat" : "rename", tmpdir_ + "/" + t->name,
                      objdir_ + "/" + rel);
    }
    if (!t->name.empty() && (linked_copy || *existed)) unlinkat(tmpfd_.get(), t->name.c_str(), 0);
    t->name.clear();
    return t->fd.Close(objdir_ + "/" + rel, err);
  }

  // A symlink object (bare, bare-user-only): made in tmp/, then renamed.
  bool CommitSymlink(const std::string& target, const std::string& rel, int64_t uid,
                     int64_t gid, const XattrList* xattrs, bool* existed,
                     SysError* err) {
    *existed = false;
    CrashPoint();
    std::string name;
    for (int attempt = 0;; attempt++) {
      name = TempPathIn("");
      name.erase(0, 1);
      if (symlinkat(target.c_str(), tmpfd_.get(), name.c_str()) == 0) break;
      if (errno != EEXIST || attempt > 100) return err->Set(errno, "symlink", target, tmpdir_ + "/" + name);
    }
    std::string full = tmpdir_ + "/" + name;
    auto fail = [&](int e, const char* sc) {
      unlinkat(tmpfd_.get(), name.c_str(), 0);
      return err->Set(e, sc, full);
    };
    if ((uid >= 0 || gid >= 0) &&
        fchownat(tmpfd_.get(), name.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid),
                 AT_SYMLINK_NOFOLLOW) < 0) {
      return fail(errno, "lchown");
    }
    if (xattrs && !xattrs->empty() && !WriteXattrs(full, -1, *xattrs, err)) {
      unlinkat(tmpfd_.get(), name.c_str(), 0);
      return false;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
      int r = static_cast<int>(syscall(SYS_renameat2, tmpfd_.get(), name.c_str(), objfd_.get(),
                                       rel.c_str(), RENAME_NOREPLACE));
      if (r < 0 && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
        r = linkat(tmpfd_.get(), name.c_str(), objfd_.get(), rel.c_str(), 0);
        if (r == 0) unlinkat(tmpfd_.get(), name.c_str(), 0);
      }
      if (r == 0) return true;
      if (errno == EEXIST) {
        *existed = true;
        unlinkat(tmpfd_.get(), name.c_str(), 0);
        return true;
      }
      if (errno == ENOENT && attempt == 0) {
        if (!EnsureFanoutDir(rel, err)) {
          unlinkat(tmpfd_.get(), name.c_str(), 0);
          return false;
        }
        continue;
      }
      break;
    }
    int e = errno;
    unlinkat(tmpfd_.get(), name.c_str(), 0);
    return err->Set(e, "rename", full, objdir_ + "/" + rel);
  }

 private:
  std::string objdir_;
  std::string tmpdir_;
  bool fsync_;
  Fd objfd_;
  Fd tmpfd_;
  bool tmpfile_ok_ = true;
};

}  // namespace ostree
