// objread.cc: see objread.h.
#include "objread.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "gvariant.h"

namespace ostree {

bool ParseRepoMode(const std::string& s, RepoMode* m) {
  if (s == "bare") *m = RepoMode::kBare;
  else if (s == "bare-user") *m = RepoMode::kBareUser;
  else if (s == "bare-user-only") *m = RepoMode::kBareUserOnly;
  else if (s == "archive" || s == "archive-z2") *m = RepoMode::kArchive;
  else return false;
  return true;
}

bool ObjectDir::Open(SysError* err) {
  std::string objects = path + "/objects";
  objfd.Reset(open(objects.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!objfd.ok()) return err->Set(errno, "open", objects);
  return true;
}

std::string ObjectDir::Rel(const char* csum) const {
  std::string r;
  r.reserve(72);
  r.append(csum, 2);
  r.push_back('/');
  r.append(csum + 2, 62);
  r += mode == RepoMode::kArchive ? ".filez" : ".file";
  return r;
}

bool Inflater::Reset(const std::string& path, SysError* err) {
  if (!ready_) {
    memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, -15) != Z_OK) {
      return err->Set(ENOMEM, "inflateInit2", path, "", "zlib initialisation failed");
    }
    ready_ = true;
  } else if (inflateReset(&zs_) != Z_OK) {
    return err->Set(EIO, "inflateReset", path, "", "zlib reset failed");
  }
  return true;
}

namespace {

bool ReadFull(int fd, char* buf, size_t len, size_t* got, const std::string& path, SysError* err) {
  *got = 0;
  while (*got < len) {
    ssize_t n = read(fd, buf + *got, len - *got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return err->Set(errno, "read", path);
    }
    if (n == 0) break;
    *got += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

LoadStatus ObjectReader::Load(const char* csum, ContentObject* out, SysError* err) {
  for (size_t i = 0; i < stores_->size(); i++) {
    LoadStatus s = LoadFrom(static_cast<int>(i), csum, out, err);
    if (s != LoadStatus::kMissing) return s;
  }
  std::string rel = (*stores_)[0].Rel(csum);
  err->Set(ENOENT, "openat", (*stores_)[0].Full(rel));
  return LoadStatus::kMissing;
}

LoadStatus ObjectReader::LoadFrom(int store, const char* csum, ContentObject* o, SysError* err) {
  const ObjectDir& s = (*stores_)[store];
  o->store = store;
  o->rel = s.Rel(csum);
  o->xattrs.clear();
  o->target.clear();
  o->is_symlink = false;
  o->size = 0;
  o->payload_offset = 0;
  o->fd.Reset();
  const int dfd = s.objfd.get();
  auto fail = [&](int e, const char* sc, const char* detail = "") {
    err->Set(e, sc, s.Full(o->rel), "", detail);
    return LoadStatus::kError;
  };
  if (s.mode == RepoMode::kBare || s.mode == RepoMode::kBareUserOnly) {
    struct stat st;
    if (fstatat(dfd, o->rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return LoadStatus::kMissing;
      return fail(errno, "lstat");
    }
    bool user_only = s.mode == RepoMode::kBareUserOnly;
    o->uid = user_only ? 0 : st.st_uid;
    o->gid = user_only ? 0 : st.st_gid;
    o->mode = st.st_mode;
    if (S_ISLNK(st.st_mode)) {
      o->is_symlink = true;
      if (!ReadLink(s.Full(o->rel), &o->target, err)) return LoadStatus::kError;
    } else {
      o->size = static_cast<uint64_t>(st.st_size);
    }
    if (want_xattrs_ && !user_only && !s.disable_xattrs &&
        !ReadXattrs(s.Full(o->rel), -1, /*skip_empty=*/true, &o->xattrs, err)) {
      return LoadStatus::kError;
    }
    return LoadStatus::kOk;
  }

  // bare-user: the object's metadata from user.ostreemeta, through `fd` or
  // (fd < 0) by path.
  auto user_meta = [&](int fd) {
    std::string meta;
    bool found = false;
    if (!ReadXattr(s.Full(o->rel), fd, "user.ostreemeta", &meta, &found, err)) return false;
    if (!found) {
      fail(ENODATA, "fgetxattr", "Unable to read file metadata (user.ostreemeta missing)");
      return false;
    }
    if (!ParseOstreeMeta(meta, &o->uid, &o->gid, &o->mode, &o->xattrs)) {
      fail(EINVAL, "fgetxattr", "invalid user.ostreemeta xattr");
      return false;
    }
    if (!want_xattrs_) o->xattrs.clear();
    return true;
  };
  bool have_meta = false;
  if (s.mode == RepoMode::kBareUser && lazy_open_) {
    // By path: two syscalls instead of open, fgetxattr, fstat and close. A
    // symlink's target is still read through an fd; anything but a regular
    // file takes the path below, which reports it as before.
    struct stat st;
    if (fstatat(dfd, o->rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return LoadStatus::kMissing;
      return fail(errno, "open");
    }
    if (S_ISREG(st.st_mode)) {
      if (!user_meta(-1)) return LoadStatus::kError;
      if (!S_ISLNK(o->mode)) {
        o->size = static_cast<uint64_t>(st.st_size);
        return LoadStatus::kOk;
      }
      have_meta = true;
    }
  }
  int fd = openat(dfd, o->rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) return LoadStatus::kMissing;
    return fail(errno, "open");
  }
  o->fd.Reset(fd);
  if (s.mode == RepoMode::kBareUser) {
    if (!have_meta && !user_meta(fd)) return LoadStatus::kError;
    if (S_ISLNK(o->mode)) {
      o->is_symlink = true;
      std::string data;
      for (;;) {
        ssize_t n = read(fd, buf_.data(), buf_.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return fail(errno, "read");
        }
        if (n == 0) break;
        data.append(buf_.data(), static_cast<size_t>(n));
        if (data.size() > (1u << 20)) return fail(EINVAL, "read", "bare-user symlink object too large");
      }
      size_t nul = data.find('\0');
      o->target = nul == std::string::npos ? data : data.substr(0, nul);
      o->fd.Reset();
      return LoadStatus::kOk;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) return fail(errno, "fstat");
    o->size = static_cast<uint64_t>(st.st_size);
    return LoadStatus::kOk;
  }

  // archive: u32be header length, 4 bytes padding, the header, raw deflate.
  // One read usually covers the prefix and the header (ReadPayload seeks to
  // the payload itself).
  char first[1024];
  ssize_t n0;
  do {
    n0 = read(fd, first, sizeof first);
  } while (n0 < 0 && errno == EINTR);
  if (n0 < 0) return fail(errno, "read");
  size_t got = static_cast<size_t>(n0);
  if (got < 8) {
    size_t more = 0;
    if (!ReadFull(fd, first + got, 8 - got, &more, s.Full(o->rel), err)) return LoadStatus::kError;
    got += more;
  }
  if (got < 8) return fail(EINVAL, "read", "File header too short");
  const unsigned char* prefix = reinterpret_cast<const unsigned char*>(first);
  uint32_t len = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) | (uint32_t(prefix[2]) << 8) | prefix[3];
  if (len > (64u << 20)) return fail(EINVAL, "read", "File header too large");
  std::string header(len, '\0');
  size_t have = std::min<size_t>(len, got - 8);
  memcpy(&header[0], first + 8, have);
  if (have < len) {
    size_t more = 0;
    if (!ReadFull(fd, &header[have], len - have, &more, s.Full(o->rel), err)) return LoadStatus::kError;
    if (more < len - have) return fail(EINVAL, "read", "File header size exceeds file size");
  }
  ZlibHeader zh;
  if (!ParseZlibHeader(header, &zh)) return fail(EINVAL, "read", "Corrupted archive file header");
  o->uid = zh.uid;
  o->gid = zh.gid;
  o->mode = zh.mode;
  o->size = zh.size;
  o->payload_offset = 8 + static_cast<uint64_t>(len);
  if (want_xattrs_) o->xattrs = std::move(zh.xattrs);
  if (S_ISLNK(zh.mode)) {
    o->is_symlink = true;
    o->target = std::move(zh.symlink_target);
    o->fd.Reset();
  }
  return LoadStatus::kOk;
}

bool ObjectReader::OpenPayload(ContentObject* o, SysError* err) {
  const ObjectDir& s = (*stores_)[o->store];
  int fd = openat(s.objfd.get(), o->rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return err->Set(errno, "open", s.Full(o->rel));
  o->fd.Reset(fd);
  return true;
}

}  // namespace ostree
