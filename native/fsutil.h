// fsutil.{h,cc}: small syscall helpers shared by objects/checkout (temp
// names, copy, link-without-replace), plus the fs_syncfs / fs_fsync exports.
// All helpers run on pool threads: plain data in, SysError out.
#pragma once

#include <napi.h>

#include <string>

#include "page_alloc.h"

#include "errors.h"

namespace ostree {

// RAII fd.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset(o.fd_);
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  void Reset(int fd = -1);
  // Closes now, reporting the close() error (write-back failures).
  bool Close(const std::string& path, SysError* err);

 private:
  int fd_ = -1;
};

std::string Dirname(const std::string& path);

// A fresh name "<dir>/.ostree-tmp-XXXXXXXXXXXX" (random, not created).
std::string TempPathIn(const std::string& dir);

// mkdir -p with `mode` for every created component.
bool MakeDirs(const std::string& dir, unsigned mode, SysError* err);

// Creates and opens a temp file in `dir` (O_EXCL, 0600). Sets *path.
bool CreateTempFile(const std::string& dir, Fd* fd, std::string* path,
                    SysError* err);

// Creates a symlink with `target` at a fresh temp name in `dir`.
bool CreateTempSymlink(const std::string& dir, const std::string& target,
                       std::string* path, SysError* err);

// Writes all of `data`.
bool WriteAll(int fd, const char* data, size_t size, const std::string& path,
              SysError* err);

// Copies all of `src_fd` (from its current offset) to `dst_fd`:
// copy_file_range, falling back to read/write.
bool CopyFdContents(int src_fd, int dst_fd, const std::string& src_path,
                    const std::string& dst_path, SysError* err);

// Reads `fd` from its current offset to the end into `out`, starting with a
// buffer of `size_hint` bytes (its st_size, say). On a read error: false with
// errno set (no SysError: callers word the failure themselves).
bool ReadToEnd(int fd, size_t size_hint, std::string* out);
bool ReadToEnd(int fd, size_t size_hint, PageString* out);

// Reads the symlink target of `path`.
bool ReadLink(const std::string& path, std::string* target, SysError* err);

// rename(tmp, dest) without replacing dest: renameat2(RENAME_NOREPLACE),
// falling back to link + unlink. *existed = true (and tmp left in place)
// when dest already exists.
bool RenameNoReplace(const std::string& tmp, const std::string& dest,
                     bool* existed, SysError* err);

// unlink() ignoring errors (cleanup paths).
void UnlinkQuiet(const std::string& path);

// futimens(fd, atime=UTIME_OMIT, mtime=0).
bool SetMtimeZero(int fd, const std::string& path, SysError* err);

Napi::Value FsSyncfs(const Napi::CallbackInfo& info);
Napi::Value FsFsync(const Napi::CallbackInfo& info);
Napi::Value FsSetImmutable(const Napi::CallbackInfo& info);

}  // namespace ostree
