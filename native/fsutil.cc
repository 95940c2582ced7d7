// fsutil.cc: see fsutil.h.
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <vector>

#include "args.h"
#include "crash_point.h"
#include "worker.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

namespace ostree {

void Fd::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

bool Fd::Close(const std::string& path, SysError* err) {
  int fd = fd_;
  fd_ = -1;
  if (fd >= 0 && close(fd) < 0 && errno != EINTR) {
    return err->Set(errno, "close", path);
  }
  return true;
}

std::string Dirname(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') end--;
  size_t slash = path.rfind('/', end - 1);
  if (slash == std::string::npos) return ".";
  while (slash > 0 && path[slash - 1] == '/') slash--;
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string TempPathIn(const std::string& dir) {
  static const char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  static std::atomic<uint64_t> counter{0};
  unsigned char rnd[12];
  if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd) {
    // Unlikely; mix a counter, the pid and the clock instead.
    uint64_t x = counter.fetch_add(1) * 0x9e3779b97f4a7c15ull ^
                 static_cast<uint64_t>(getpid()) << 32 ^
                 static_cast<uint64_t>(std::chrono::steady_clock::now()
                                           .time_since_epoch()
                                           .count());
    for (size_t i = 0; i < sizeof rnd; i++) {
      x ^= x >> 33;
      x *= 0xff51afd7ed558ccdull;
      rnd[i] = static_cast<unsigned char>(x >> 24);
    }
  }
  std::string name = dir;
  if (name.empty() || name.back() != '/') name.push_back('/');
  name += ".ostree-tmp-";
  for (unsigned char c : rnd) name.push_back(kChars[c % (sizeof kChars - 1)]);
  return name;
}

bool MakeDirs(const std::string& dir, unsigned mode, SysError* err) {
  if (mkdir(dir.c_str(), mode) == 0) return true;
  int e = errno;
  if (e == EEXIST) {
    struct stat st;
    if (stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return true;
    return err->Set(ENOTDIR, "mkdir", dir);
  }
  if (e != ENOENT) return err->Set(e, "mkdir", dir);
  std::string parent = Dirname(dir);
  if (parent == dir) return err->Set(e, "mkdir", dir);
  if (!MakeDirs(parent, mode, err)) return false;
  if (mkdir(dir.c_str(), mode) == 0 || errno == EEXIST) return true;
  return err->Set(errno, "mkdir", dir);
}

bool CreateTempFile(const std::string& dir, Fd* fd, std::string* path,
                    SysError* err) {
  for (int attempt = 0; attempt < 100; attempt++) {
    *path = TempPathIn(dir);
    int f = open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
                                    O_NOFOLLOW, 0600);
    if (f >= 0) {
      fd->Reset(f);
      return true;
    }
    if (errno != EEXIST) return err->Set(errno, "open", *path);
  }
  return err->Set(EEXIST, "open", *path);
}

bool CreateTempSymlink(const std::string& dir, const std::string& target,
                       std::string* path, SysError* err) {
  for (int attempt = 0; attempt < 100; attempt++) {
    *path = TempPathIn(dir);
    if (symlink(target.c_str(), path->c_str()) == 0) return true;
    if (errno != EEXIST) return err->Set(errno, "symlink", target, *path);
  }
  return err->Set(EEXIST, "symlink", target, *path);
}

bool WriteAll(int fd, const char* data, size_t size, const std::string& path,
              SysError* err) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return err->Set(errno, "write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

static bool CopyReadWrite(int src_fd, int dst_fd, const std::string& src_path,
                          const std::string& dst_path, SysError* err) {
  std::vector<char> buf(256 * 1024);
  for (;;) {
    ssize_t n = read(src_fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return err->Set(errno, "read", src_path);
    }
    if (n == 0) return true;
    if (!WriteAll(dst_fd, buf.data(), static_cast<size_t>(n), dst_path, err)) {
      return false;
    }
  }
}

bool CopyFdContents(int src_fd, int dst_fd, const std::string& src_path,
                    const std::string& dst_path, SysError* err) {
#ifdef SYS_copy_file_range
  bool copied_any = false;
  for (;;) {
    // Called through syscall() so the addon does not need glibc >= 2.27.
    ssize_t n = syscall(SYS_copy_file_range, src_fd, nullptr, dst_fd, nullptr,
                        static_cast<size_t>(1) << 30, 0u);
    if (n > 0) {
      copied_any = true;
      continue;
    }
    if (n == 0) {
      if (copied_any) return true;
      // 0 at the very start can mean EOF, or a filesystem (procfs, ...) that
      // reports no data; let read() decide.
      break;
    }
    if (errno == EINTR) continue;
    // Unsupported here (old kernel, cross-fs, special files): continue with
    // read/write from the current offsets, which copy_file_range advanced.
    if (errno == ENOSYS || errno == EXDEV || errno == EINVAL ||
        errno == EOPNOTSUPP || errno == EBADF || errno == ETXTBSY) {
      break;
    }
    return err->Set(errno, "copy_file_range", src_path, dst_path);
  }
#endif
  return CopyReadWrite(src_fd, dst_fd, src_path, dst_path, err);
}

namespace {

template <class S>
bool ReadToEndInto(int fd, size_t size_hint, S* out) {
  out->resize(size_hint);
  size_t got = 0;
  for (;;) {
    if (got == out->size()) out->resize(out->size() + 4096);
    ssize_t n = read(fd, &(*out)[got], out->size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out->resize(got);
  return true;
}

}  // namespace

bool ReadToEnd(int fd, size_t size_hint, std::string* out) { return ReadToEndInto(fd, size_hint, out); }

bool ReadToEnd(int fd, size_t size_hint, PageString* out) { return ReadToEndInto(fd, size_hint, out); }

bool ReadLink(const std::string& path, std::string* target, SysError* err) {
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return err->Set(errno, "readlink", path);
    if (static_cast<size_t>(n) < buf.size()) {
      target->assign(buf.data(), static_cast<size_t>(n));
      return true;
    }
    buf.resize(buf.size() * 4);
  }
}

bool RenameNoReplace(const std::string& tmp, const std::string& dest,
                     bool* existed, SysError* err) {
  *existed = false;
  CrashPoint();
#ifdef SYS_renameat2
  if (syscall(SYS_renameat2, AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(),
              RENAME_NOREPLACE) == 0) {
    return true;
  }
  if (errno == EEXIST) {
    *existed = true;
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    return err->Set(errno, "rename", tmp, dest);
  }
#endif
  // Filesystem without RENAME_NOREPLACE: link() never replaces either.
  if (linkat(AT_FDCWD, tmp.c_str(), AT_FDCWD, dest.c_str(), 0) < 0) {
    if (errno == EEXIST) {
      *existed = true;
      return true;
    }
    return err->Set(errno, "link", tmp, dest);
  }
  UnlinkQuiet(tmp);
  return true;
}

void UnlinkQuiet(const std::string& path) {
  if (!path.empty()) unlink(path.c_str());
}

bool SetMtimeZero(int fd, const std::string& path, SysError* err) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = 0;
  times[1].tv_nsec = 0;
  if (futimens(fd, times) < 0) return err->Set(errno, "futimens", path);
  return true;
}

// ---------------------------------------------------------------------------
// fs_syncfs(path) / fs_fsync(path)

namespace {

class SyncWorker : public PromiseWorker {
 public:
  SyncWorker(Napi::Env env, std::string path, bool whole_fs)
      : PromiseWorker(env, whole_fs ? "ostree:fs_syncfs" : "ostree:fs_fsync"),
        path_(std::move(path)),
        whole_fs_(whole_fs) {}

  void Execute() override {
    Fd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.ok()) {
      error_.Set(errno, "open", path_);
      return;
    }
    int r = whole_fs_ ? syncfs(fd.get()) : fsync(fd.get());
    if (r < 0) {
      error_.Set(errno, whole_fs_ ? "syncfs" : "fsync", path_);
      return;
    }
    fd.Close(path_, &error_);
  }

 private:
  std::string path_;
  bool whole_fs_;
};

Napi::Value StartSync(const Napi::CallbackInfo& info, bool whole_fs) {
  Napi::Env env = info.Env();
  std::string path;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  return PromiseWorker::Start(new SyncWorker(env, std::move(path), whole_fs));
}

}  // namespace

Napi::Value FsSyncfs(const Napi::CallbackInfo& info) {
  return StartSync(info, true);
}

Napi::Value FsFsync(const Napi::CallbackInfo& info) {
  return StartSync(info, false);
}

// ---------------------------------------------------------------------------
// fs_set_immutable(path, immutable) -> boolean: set or clear the inode's
// immutable flag (chattr +i / -i) on a file or directory, as ostree's
// _ostree_linuxfs_fd_alter_immutable_flag does for deployment roots. A
// filesystem without inode flags (ENOTTY, EOPNOTSUPP) or a caller without
// the privilege (EPERM) leaves it unchanged and resolves false; other
// errors reject.

namespace {

class ImmutableWorker : public PromiseWorker {
 public:
  ImmutableWorker(Napi::Env env, std::string path, bool immutable)
      : PromiseWorker(env, "ostree:fs_set_immutable"), path_(std::move(path)), immutable_(immutable) {}

  void Execute() override {
    Fd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK));
    if (!fd.ok()) {
      error_.Set(errno, "open", path_);
      return;
    }
    int flags = 0;
    if (ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) < 0) {
      if (!Ignorable(errno)) error_.Set(errno, "ioctl(FS_IOC_GETFLAGS)", path_);
      return;
    }
    bool cur = (flags & FS_IMMUTABLE_FL) != 0;
    if (cur != immutable_) {
      flags = immutable_ ? (flags | FS_IMMUTABLE_FL) : (flags & ~FS_IMMUTABLE_FL);
      if (ioctl(fd.get(), FS_IOC_SETFLAGS, &flags) < 0) {
        if (!Ignorable(errno)) error_.Set(errno, "ioctl(FS_IOC_SETFLAGS)", path_);
        return;
      }
    }
    changed_ = true;
    fd.Close(path_, &error_);
  }

  Napi::Value Resolve(Napi::Env env) override { return Napi::Boolean::New(env, changed_); }

 private:
  static bool Ignorable(int e) { return e == EPERM || e == ENOTTY || e == EOPNOTSUPP || e == ENOTSUP; }
  std::string path_;
  bool immutable_;
  bool changed_ = false;
};

}  // namespace

Napi::Value FsSetImmutable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!args::Path(env, info[0], "path", &path)) return env.Undefined();
  bool immutable = info.Length() > 1 && info[1].ToBoolean().Value();
  return PromiseWorker::Start(new ImmutableWorker(env, std::move(path), immutable));
}

}  // namespace ostree
