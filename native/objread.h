// objread.{h,cc}: reading content objects in any repository mode on pool
// threads — the object's metadata (FORMATS.md §3.3/§3.4: bare = the inode,
// bare-user = `user.ostreemeta`, bare-user-only = the inode with uid/gid 0,
// archive = the `.filez` header) and a stream of its payload (the file
// itself, or raw inflate of the `.filez` body). Shared by checkout_files and
// content_verify_batch.
#pragma once

#include "zlib_static.h"

#include <string>
#include <vector>

#include "errors.h"
#include "fsutil.h"
#include "xattr.h"

namespace ostree {

enum class RepoMode { kBare, kBareUser, kBareUserOnly, kArchive };

bool ParseRepoMode(const std::string& s, RepoMode* m);

// One repository's object directory (a repo and its core.parent chain are
// several stores, searched in order).
struct ObjectDir {
  std::string path;  // the repository root
  RepoMode mode = RepoMode::kBare;
  bool disable_xattrs = false;
  Fd objfd;  // objects/, O_PATH

  bool Open(SysError* err);
  // "XX/rest.file" or "XX/rest.filez" (relative to objects/).
  std::string Rel(const char* csum) const;
  std::string Full(const std::string& rel) const { return path + "/objects/" + rel; }
};

// A content object, opened.
struct ContentObject {
  int store = -1;  // index into the store list
  std::string rel;
  uint32_t uid = 0, gid = 0, mode = 0;
  uint64_t size = 0;  // payload size (0 for symlinks)
  bool is_symlink = false;
  std::string target;
  XattrList xattrs;  // only when requested
  Fd fd;  // open for reading the payload (bare-user, archive: always; bare: on demand)
  uint64_t payload_offset = 0;  // archive: where the deflate stream starts
};

enum class LoadStatus { kOk, kMissing, kError };

// Reads raw deflate from `fd` (at the current offset) and hands the inflated
// bytes to a sink; checks the total against `expected`.
class Inflater {
 public:
  Inflater() : in_(256 * 1024), out_(256 * 1024) {}
  ~Inflater() {
    if (ready_) inflateEnd(&zs_);
  }
  // sink(data, len) -> bool (false: stop with err already set).
  template <typename Sink>
  bool Run(int fd, uint64_t expected, const std::string& path, SysError* err, Sink sink);
  // The same over a deflate stream held in memory (`len` bytes at `data`).
  template <typename Sink>
  bool RunMem(const char* data, size_t len, uint64_t expected, const std::string& path,
              SysError* err, Sink sink);

 private:
  bool Reset(const std::string& path, SysError* err);
  std::vector<char> in_;
  std::vector<char> out_;
  z_stream zs_;
  bool ready_ = false;
};

class ObjectReader {
 public:
  // stores must be opened; `want_xattrs`: read the object's xattrs too.
  // `lazy_open`: bare-user objects are looked at by path (fstatat and
  // lgetxattr) and opened only when their payload is read (OpenPayload), for
  // callers that mostly don't read it (a hardlink checkout).
  ObjectReader(std::vector<ObjectDir>* stores, bool want_xattrs, bool lazy_open = false)
      : stores_(stores), want_xattrs_(want_xattrs), lazy_open_(lazy_open) {}

  // Opens object `csum` (64 hex chars) from the first store that has it.
  LoadStatus Load(const char* csum, ContentObject* out, SysError* err);

  // Opens the payload of a bare or bare-user object for reading if Load didn't.
  bool OpenPayload(ContentObject* o, SysError* err);

  // Streams the payload into sink(data, len); for archive objects this
  // inflates and checks the size in the header.
  template <typename Sink>
  bool ReadPayload(ContentObject* o, SysError* err, Sink sink);

  Inflater& inflater() { return inflater_; }
  std::vector<char>& buffer() { return buf_; }

 private:
  LoadStatus LoadFrom(int store, const char* csum, ContentObject* out, SysError* err);
  std::vector<ObjectDir>* stores_;
  bool want_xattrs_;
  bool lazy_open_;
  Inflater inflater_;
  std::vector<char> buf_ = std::vector<char>(256 * 1024);
};

// ---------------------------------------------------------------- templates

template <typename Sink>
bool Inflater::Run(int fd, uint64_t expected, const std::string& path, SysError* err, Sink sink) {
  if (!Reset(path, err)) return false;
  uint64_t total = 0;
  bool end = false;
  while (!end) {
    ssize_t n;
    do {
      n = read(fd, in_.data(), in_.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return err->Set(errno, "read", path);
    if (n == 0) return err->Set(EINVAL, "inflate", path, "", "Need more input");
    zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
    zs_.avail_in = static_cast<uInt>(n);
    for (;;) {
      zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
      zs_.avail_out = static_cast<uInt>(out_.size());
      int r = inflate(&zs_, Z_NO_FLUSH);
      if (r == Z_STREAM_END) {
        end = true;
      } else if (r != Z_OK && r != Z_BUF_ERROR) {
        return err->Set(EINVAL, "inflate", path, "", "Invalid compressed data");
      }
      size_t got = out_.size() - zs_.avail_out;
      total += got;
      if (total > expected) {
        return err->Set(EINVAL, "inflate", path, "", "Corrupted file object; size does not match header");
      }
      if (got && !sink(out_.data(), got)) return false;
      if (end || zs_.avail_out != 0) break;  // done, or all input consumed
    }
  }
  if (total != expected) {
    return err->Set(EINVAL, "inflate", path, "", "Corrupted file object; size does not match header");
  }
  return true;
}

template <typename Sink>
bool Inflater::RunMem(const char* data, size_t len, uint64_t expected, const std::string& path,
                      SysError* err, Sink sink) {
  if (!Reset(path, err)) return false;
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs_.avail_in = static_cast<uInt>(len);
  uint64_t total = 0;
  for (;;) {
    zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
    zs_.avail_out = static_cast<uInt>(out_.size());
    int r = inflate(&zs_, Z_NO_FLUSH);
    if (r != Z_STREAM_END && r != Z_OK && r != Z_BUF_ERROR) {
      return err->Set(EINVAL, "inflate", path, "", "Invalid compressed data");
    }
    size_t got = out_.size() - zs_.avail_out;
    total += got;
    if (total > expected) {
      return err->Set(EINVAL, "inflate", path, "", "Corrupted file object; size does not match header");
    }
    if (got && !sink(out_.data(), got)) return false;
    if (r == Z_STREAM_END) break;
    if (zs_.avail_out != 0) return err->Set(EINVAL, "inflate", path, "", "Need more input");
  }
  if (total != expected) {
    return err->Set(EINVAL, "inflate", path, "", "Corrupted file object; size does not match header");
  }
  return true;
}

template <typename Sink>
bool ObjectReader::ReadPayload(ContentObject* o, SysError* err, Sink sink) {
  if (o->is_symlink) return true;
  if (!o->fd.ok() && !OpenPayload(o, err)) return false;
  const ObjectDir& s = (*stores_)[o->store];
  if (s.mode == RepoMode::kArchive) {
    if (lseek(o->fd.get(), static_cast<off_t>(o->payload_offset), SEEK_SET) < 0) {
      return err->Set(errno, "lseek", s.Full(o->rel));
    }
    return inflater_.Run(o->fd.get(), o->size, s.Full(o->rel), err, sink);
  }
  for (;;) {
    ssize_t n = read(o->fd.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return err->Set(errno, "read", s.Full(o->rel));
    }
    if (n == 0) return true;
    if (!sink(buf_.data(), static_cast<size_t>(n))) return false;
  }
}

}  // namespace ostree
