// commit.cc: see commit.h. Mirrors the content-writing rules of
// ostree-repo-commit.c (per-mode object metadata, link without replacing)
// and FORMATS.md §2.3, §3.3, §3.4; the code is our own.
#include "commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "fsutil.h"
#include "gvariant.h"
#include "sha256.h"
#include "store.h"
#include "worker.h"
#include "xattr.h"
#include "zlib_static.h"

namespace ostree {

namespace {

constexpr size_t kChunk = 256 * 1024;
constexpr size_t kDefaultSmallMax = 1024 * 1024;
// Start write-back of objects at least this large right away (the final
// syncfs then has less left to do).
constexpr uint64_t kWritebackMin = 256 * 1024;

enum class Mode { kBare, kBareUser, kBareUserOnly, kArchive };


bool ParseMode(const std::string& s, Mode* m) {
  if (s == "bare") *m = Mode::kBare;
  else if (s == "bare-user") *m = Mode::kBareUser;
  else if (s == "bare-user-only") *m = Mode::kBareUserOnly;
  else if (s == "archive" || s == "archive-z2") *m = Mode::kArchive;
  else return false;
  return true;
}

void PutBE32(unsigned char* p, uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

// Reads until `cap` bytes or EOF; *eof tells which.
bool ReadUpTo(int fd, char* buf, size_t cap, size_t* got, bool* eof,
              const std::string& path, SysError* err) {
  *got = 0;
  *eof = false;
  while (*got < cap) {
    ssize_t n = read(fd, buf + *got, cap - *got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return err->Set(errno, "read", path);
    }
    if (n == 0) {
      *eof = true;
      return true;
    }
    *got += static_cast<size_t>(n);
  }
  return true;
}


// ---------------------------------------------------------------------------
// content_write_batch

struct ContentOptions {
  std::string repo;
  Mode mode = Mode::kBare;
  int64_t uid = -1;
  int64_t gid = -1;
  bool canonical = false;
  bool skip_xattrs = false;
  bool fsync = false;
  bool writeback = true;
  int zlib_level = 6;
  size_t small_max = kDefaultSmallMax;
};

struct Override {
  uint32_t index;
  bool set;  // '=' (else '+')
  uint32_t mode;
};

struct FileMeta {
  uint32_t uid = 0, gid = 0, mode = 0;
  bool is_symlink = false;
  std::string target;
  XattrList xattrs;
};

class ContentWriter {
 public:
  explicit ContentWriter(const ContentOptions& o)
      : o_(o), store_(o.repo, o.fsync), buf_(o.small_max) {}

  ~ContentWriter() {
    if (z_ready_) deflateEnd(&zs_);
  }

  bool Open(SysError* err) { return store_.Open(err); }

  uint64_t written = 0;
  uint64_t bytes_written = 0;
  // Whether the last Run() linked a new object (false: the repo had it).
  bool last_written = false;

  // Writes one source file; sets *csum (64 hex chars). Errors reading the
  // source name `path`; errors writing name the object (or the repo's tmp/
  // while its checksum is not known yet), never the source.
  bool Run(const std::string& path, const Override* ov, std::string* csum, SysError* err) {
    last_written = false;
    FileMeta m;
    Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    struct stat st;
    if (!fd.ok()) {
      if (errno != ELOOP) return err->Set(errno, "open", path);
      if (lstat(path.c_str(), &st) < 0) return err->Set(errno, "lstat", path);
      if (!S_ISLNK(st.st_mode)) return err->Set(ELOOP, "open", path);
      m.is_symlink = true;
      if (!ReadLink(path, &m.target, err)) return false;
    } else {
      if (fstat(fd.get(), &st) < 0) return err->Set(errno, "fstat", path);
      if (!S_ISREG(st.st_mode)) {
        return err->Set(EINVAL, "open", path, "",
                        "unsupported file type (not a regular file or symlink)");
      }
    }
    m.mode = st.st_mode;
    m.uid = st.st_uid;
    m.gid = st.st_gid;
    if (!o_.skip_xattrs && !o_.canonical) {
      if (!ReadXattrs(path, fd.ok() ? fd.get() : -1, /*skip_empty=*/true, &m.xattrs, err)) {
        return false;
      }
    }
    // The commit filter (owner, statoverride) first, then canonical
    // permissions, as _ostree_repo_commit_modifier_apply: a canonical mode
    // squashes s[ug]id bits a statoverride adds.
    if (o_.uid >= 0) m.uid = static_cast<uint32_t>(o_.uid);
    if (o_.gid >= 0) m.gid = static_cast<uint32_t>(o_.gid);
    if (ov) m.mode = ov->set ? ((m.mode & S_IFMT) | ov->mode) : (m.mode | ov->mode);
    if (o_.canonical) {
      m.uid = 0;
      m.gid = 0;
      if (S_ISREG(m.mode)) m.mode &= (S_IFREG | 0755);
      m.xattrs.clear();
    }

    std::string header = BuildFileHeader(m.uid, m.gid, m.mode,
                                         m.is_symlink ? m.target : std::string(), m.xattrs);
    unsigned char prefix[8] = {0};
    PutBE32(prefix, static_cast<uint32_t>(header.size()));
    if (!sha_.Reset() || !sha_.Update(prefix, 8) || !sha_.Update(header.data(), header.size())) {
      return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
    }

    if (m.is_symlink) {
      *csum = sha_.FinishHex();
      if (csum->empty()) return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
      return StoreSymlink(path, m, *csum, err);
    }

    size_t got = 0;
    bool eof = false;
    if (!ReadUpTo(fd.get(), buf_.data(), buf_.size(), &got, &eof, path, err)) return false;
    if (eof) {
      if (!sha_.Update(buf_.data(), got)) return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
      *csum = sha_.FinishHex();
      if (csum->empty()) return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
      return StoreSmall(path, m, got, *csum, err);
    }
    return StoreStream(path, fd.get(), static_cast<uint64_t>(st.st_size), m, got, csum, err);
  }

 private:
  const char* Ext() const { return o_.mode == Mode::kArchive ? "filez" : "file"; }

  bool InitZ(SysError* err, const std::string& path) {
    if (!z_ready_) {
      memset(&zs_, 0, sizeof zs_);
      if (deflateInit2(&zs_, o_.zlib_level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return err->Set(ENOMEM, "deflateInit2", path, "", "zlib initialisation failed");
      }
      z_ready_ = true;
    } else if (deflateReset(&zs_) != Z_OK) {
      return err->Set(EIO, "deflateReset", path, "", "zlib reset failed");
    }
    return true;
  }

  bool CheckBareUserOnly(const std::string& path, const FileMeta& m, SysError* err) {
    if (o_.mode == Mode::kBareUserOnly && !m.is_symlink && (m.mode & ~(S_IFREG | 0775))) {
      char msg[128];
      snprintf(msg, sizeof msg, "Invalid mode 0%o with bits 040000 in bare-user-only repository", m.mode);
      return err->Set(EINVAL, "commit", path, "", msg);
    }
    return true;
  }

  // Ownership, xattrs, permissions and mtime of a regular-file object
  // (chown first: it clears suid bits; xattrs before a read-only chmod).
  // `where` names the object in errors.
  bool ApplyFileMeta(int fd, const FileMeta& m, const std::string& where, SysError* err) {
    switch (o_.mode) {
      case Mode::kArchive:
        if (fchmod(fd, 0644) < 0) return err->Set(errno, "fchmod", where);
        return true;
      case Mode::kBare:
        if (fchown(fd, m.uid, m.gid) < 0) return err->Set(errno, "fchown", where);
        if (!m.xattrs.empty() && !WriteXattrs(where, fd, m.xattrs, err)) return false;
        if (fchmod(fd, m.mode & 07777) < 0) return err->Set(errno, "fchmod", where);
        break;
      case Mode::kBareUser: {
        XattrList meta{Xattr{"user.ostreemeta", BuildOstreeMeta(m.uid, m.gid, m.mode, m.xattrs)}};
        if (!WriteXattrs(where, fd, meta, err)) return false;
        uint32_t perms = m.is_symlink ? 0644 : ((m.mode & 0775) | 0400);
        if (fchmod(fd, perms) < 0) return err->Set(errno, "fchmod", where);
        break;
      }
      case Mode::kBareUserOnly:
        if (fchmod(fd, m.mode & 07777) < 0) return err->Set(errno, "fchmod", where);
        break;
    }
    return SetMtimeZero(fd, where, err);
  }

  bool Finish(ObjectStore::Tmp* t, const std::string& rel, uint64_t size, uint64_t disk_size,
              SysError* err) {
    if (o_.writeback && !o_.fsync && disk_size >= kWritebackMin) {
      sync_file_range(t->fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);  // best effort
    }
    bool existed = false;
    if (!store_.Commit(t, rel, &existed, err)) {
      store_.Discard(t);
      return false;
    }
    if (existed) {
      store_.Discard(t);
    } else {
      written++;
      bytes_written += size;
      last_written = true;
    }
    return true;
  }

  bool StoreSymlink(const std::string& path, const FileMeta& m, const std::string& csum,
                    SysError* err) {
    std::string rel = ObjectStore::Rel(csum, Ext());
    bool exists = false;
    if (!store_.Exists(rel, &exists, err)) return false;
    if (exists) return true;
    if (o_.mode == Mode::kBare || o_.mode == Mode::kBareUserOnly) {
      bool existed = false;
      bool bare = o_.mode == Mode::kBare;
      if (!store_.CommitSymlink(m.target, rel, bare ? m.uid : -1, bare ? m.gid : -1,
                                bare ? &m.xattrs : nullptr, &existed, err)) {
        return false;
      }
      if (!existed) {
        written++;
        last_written = true;
      }
      return true;
    }
    const std::string where = store_.ObjPath(rel);
    ObjectStore::Tmp t;
    if (!store_.CreateTmp(&t, err)) return false;
    bool ok;
    if (o_.mode == Mode::kArchive) {
      std::string zh = BuildZlibHeader(0, m.uid, m.gid, m.mode, m.target, m.xattrs);
      unsigned char prefix[8] = {0};
      PutBE32(prefix, static_cast<uint32_t>(zh.size()));
      struct iovec iov[2] = {{prefix, 8}, {&zh[0], zh.size()}};
      ok = WriteV(t.fd.get(), iov, 2, where, err);
    } else {  // bare-user: a regular file holding the target and a NUL
      ok = WriteAll(t.fd.get(), m.target.c_str(), m.target.size() + 1, where, err);
    }
    if (!ok || !ApplyFileMeta(t.fd.get(), m, where, err)) {
      store_.Discard(&t);
      return false;
    }
    return Finish(&t, rel, 0, 0, err);
  }

  bool StoreSmall(const std::string& path, const FileMeta& m, size_t size, const std::string& csum,
                  SysError* err) {
    std::string rel = ObjectStore::Rel(csum, Ext());
    bool exists = false;
    if (!store_.Exists(rel, &exists, err)) return false;
    if (exists) return true;
    if (!CheckBareUserOnly(path, m, err)) return false;
    const std::string where = store_.ObjPath(rel);
    ObjectStore::Tmp t;
    if (!store_.CreateTmp(&t, err)) return false;
    bool ok;
    uint64_t disk = size;
    if (o_.mode == Mode::kArchive) {
      std::string zh = BuildZlibHeader(size, m.uid, m.gid, m.mode, std::string(), m.xattrs);
      unsigned char prefix[8] = {0};
      PutBE32(prefix, static_cast<uint32_t>(zh.size()));
      ok = InitZ(err, path);
      if (ok) {
        zout_.resize(deflateBound(&zs_, size) + 64);
        zs_.next_in = reinterpret_cast<Bytef*>(buf_.data());
        zs_.avail_in = static_cast<uInt>(size);
        zs_.next_out = reinterpret_cast<Bytef*>(zout_.data());
        zs_.avail_out = static_cast<uInt>(zout_.size());
        int r = deflate(&zs_, Z_FINISH);
        if (r != Z_STREAM_END) ok = err->Set(EIO, "deflate", path, "", "zlib compression failed");
      }
      if (ok) {
        size_t zlen = zout_.size() - zs_.avail_out;
        disk = zlen;
        struct iovec iov[3] = {{prefix, 8}, {&zh[0], zh.size()}, {zout_.data(), zlen}};
        ok = WriteV(t.fd.get(), iov, 3, where, err);
      }
    } else {
      ok = WriteAll(t.fd.get(), buf_.data(), size, where, err);
    }
    if (!ok || !ApplyFileMeta(t.fd.get(), m, where, err)) {
      store_.Discard(&t);
      return false;
    }
    return Finish(&t, rel, size, disk, err);
  }

  // Large file: hash and write while reading; `have` bytes are already in buf_.
  bool StoreStream(const std::string& path, int fd, uint64_t st_size, const FileMeta& m, size_t have,
                   std::string* csum, SysError* err) {
    if (!CheckBareUserOnly(path, m, err)) return false;
    ObjectStore::Tmp t;
    if (!store_.CreateTmp(&t, err)) return false;
    // Until the checksum is known the object is a temp file in the repo's tmp/.
    const std::string tmp_where = store_.TmpPath(t);
    bool archive = o_.mode == Mode::kArchive;
    uint64_t total = 0;
    uint64_t disk = 0;
    size_t zh_size = 0;
    auto fail = [&]() {
      store_.Discard(&t);
      return false;
    };
    if (archive) {
      std::string zh = BuildZlibHeader(st_size, m.uid, m.gid, m.mode, std::string(), m.xattrs);
      zh_size = zh.size();
      unsigned char prefix[8] = {0};
      PutBE32(prefix, static_cast<uint32_t>(zh.size()));
      struct iovec iov[2] = {{prefix, 8}, {&zh[0], zh.size()}};
      if (!WriteV(t.fd.get(), iov, 2, tmp_where, err) || !InitZ(err, path)) return fail();
      if (zout_.size() < kChunk) zout_.resize(kChunk);
    }
    // Each round: process [0, have) of buf_, then refill.
    bool eof = false;
    for (;;) {
      if (have > 0) {
        if (!sha_.Update(buf_.data(), have)) {
          err->Set(EIO, "sha256", path, "", "SHA-256 failed");
          return fail();
        }
        total += have;
      }
      if (archive) {
        zs_.next_in = reinterpret_cast<Bytef*>(buf_.data());
        zs_.avail_in = static_cast<uInt>(have);
        int flush = eof ? Z_FINISH : Z_NO_FLUSH;
        for (;;) {
          zs_.next_out = reinterpret_cast<Bytef*>(zout_.data());
          zs_.avail_out = static_cast<uInt>(zout_.size());
          int r = deflate(&zs_, flush);
          if (r == Z_STREAM_ERROR) {
            err->Set(EIO, "deflate", path, "", "zlib compression failed");
            return fail();
          }
          size_t n = zout_.size() - zs_.avail_out;
          if (n && !WriteAll(t.fd.get(), zout_.data(), n, tmp_where, err)) return fail();
          disk += n;
          if (flush == Z_FINISH ? r == Z_STREAM_END : zs_.avail_out != 0) break;
        }
      } else if (have && !WriteAll(t.fd.get(), buf_.data(), have, tmp_where, err)) {
        return fail();
      }
      if (eof) break;
      if (!ReadUpTo(fd, buf_.data(), std::min(buf_.size(), kChunk * 4), &have, &eof, path, err)) {
        return fail();
      }
    }
    if (archive && total != st_size) {
      // The file changed size while we read it: the header must describe what we stored.
      unsigned char be[8];
      for (int i = 0; i < 8; i++) be[i] = static_cast<unsigned char>(total >> (8 * (7 - i)));
      if (pwrite(t.fd.get(), be, 8, 8) != 8) {
        err->Set(errno ? errno : EIO, "pwrite", tmp_where);
        return fail();
      }
    }
    (void)zh_size;
    *csum = sha_.FinishHex();
    if (csum->empty()) {
      err->Set(EIO, "sha256", path, "", "SHA-256 failed");
      return fail();
    }
    std::string rel = ObjectStore::Rel(*csum, Ext());
    bool exists = false;
    if (!store_.Exists(rel, &exists, err)) return fail();
    if (exists) {
      store_.Discard(&t);
      return true;
    }
    if (!ApplyFileMeta(t.fd.get(), m, store_.ObjPath(rel), err)) return fail();
    return Finish(&t, rel, total, archive ? disk : total, err);
  }

  static bool WriteV(int fd, struct iovec* iov, int n, const std::string& path, SysError* err) {
    while (n > 0) {
      ssize_t w = writev(fd, iov, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return err->Set(errno, "write", path);
      }
      size_t left = static_cast<size_t>(w);
      while (n > 0 && left >= iov->iov_len) {
        left -= iov->iov_len;
        iov++;
        n--;
      }
      if (n > 0) {
        iov->iov_base = static_cast<char*>(iov->iov_base) + left;
        iov->iov_len -= left;
      }
    }
    return true;
  }

  ContentOptions o_;
  ObjectStore store_;
  std::vector<char> buf_;
  std::vector<char> zout_;
  Sha256 sha_;
  z_stream zs_;
  bool z_ready_ = false;
};

class ContentWorker : public PromiseWorker {
 public:
  ContentWorker(Napi::Env env, std::vector<std::string> paths, ContentOptions opts,
                std::vector<Override> overrides)
      : PromiseWorker(env, "ostree:content_write_batch"),
        paths_(std::move(paths)),
        opts_(std::move(opts)),
        overrides_(std::move(overrides)) {}

  void Execute() override {
    ContentWriter w(opts_);
    if (!w.Open(&error_)) return;
    std::sort(overrides_.begin(), overrides_.end(),
              [](const Override& a, const Override& b) { return a.index < b.index; });
    size_t oi = 0;
    sums_.reserve(paths_.size() * 64);
    std::string csum;
    for (size_t i = 0; i < paths_.size(); i++) {
      const Override* ov = nullptr;
      while (oi < overrides_.size() && overrides_[oi].index < i) oi++;
      if (oi < overrides_.size() && overrides_[oi].index == i) ov = &overrides_[oi];
      if (!w.Run(paths_[i], ov, &csum, &error_)) return;
      sums_ += csum;
      fresh_.push_back(w.last_written ? 1 : 0);
    }
    written_ = w.written;
    bytes_ = w.bytes_written;
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("checksums", Napi::String::New(env, sums_));
    o.Set("written", Napi::Number::New(env, static_cast<double>(written_)));
    o.Set("bytesWritten", Napi::Number::New(env, static_cast<double>(bytes_)));
    o.Set("fresh", Napi::Buffer<uint8_t>::Copy(env, fresh_.data(), fresh_.size()));
    return o;
  }

 private:
  std::vector<std::string> paths_;
  ContentOptions opts_;
  std::vector<Override> overrides_;
  std::string sums_;
  std::vector<uint8_t> fresh_;  // 1 per path whose object was newly linked
  uint64_t written_ = 0;
  uint64_t bytes_ = 0;
};

// ---------------------------------------------------------------------------
// metadata_write_batch

class MetadataWorker : public PromiseWorker {
 public:
  MetadataWorker(Napi::Env env, std::string repo, bool fsync,
                 std::vector<std::pair<std::string, std::string>> items)
      : PromiseWorker(env, "ostree:metadata_write_batch"),
        store_(std::move(repo), fsync),
        items_(std::move(items)) {}

  void Execute() override {
    if (!store_.Open(&error_)) return;
    for (const auto& it : items_) {
      bool exists = false;
      if (!store_.Exists(it.first, &exists, &error_)) return;
      if (exists) continue;
      ObjectStore::Tmp t;
      std::string where = store_.ObjPath(it.first);
      if (!store_.CreateTmp(&t, &error_)) return;
      if (!WriteAll(t.fd.get(), it.second.data(), it.second.size(), where, &error_) ||
          fchmod(t.fd.get(), 0644) < 0) {
        if (!error_.failed()) error_.Set(errno, "fchmod", where);
        store_.Discard(&t);
        return;
      }
      bool existed = false;
      if (!store_.Commit(&t, it.first, &existed, &error_)) {
        store_.Discard(&t);
        return;
      }
      if (existed) {
        store_.Discard(&t);
      } else {
        written_++;
      }
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    return Napi::Number::New(env, static_cast<double>(written_));
  }

 private:
  ObjectStore store_;
  std::vector<std::pair<std::string, std::string>> items_;
  uint64_t written_ = 0;
};

// ---------------------------------------------------------------------------
// dirs_scan

enum EntryType : uint8_t { kReg = 0, kDir = 1, kLink = 2, kOther = 3 };

struct DirRecord {
  uint32_t uid = 0, gid = 0, mode = 0;
  XattrList xattrs;
  struct Entry {
    std::string name;
    uint8_t type;
    double size;
  };
  std::vector<Entry> entries;
};

class ScanWorker : public PromiseWorker {
 public:
  ScanWorker(Napi::Env env, std::vector<std::string> paths, bool xattrs, bool sizes)
      : PromiseWorker(env, "ostree:dirs_scan"),
        paths_(std::move(paths)),
        xattrs_(xattrs),
        sizes_(sizes) {}

  void Execute() override {
    records_.resize(paths_.size());
    for (size_t i = 0; i < paths_.size(); i++) {
      if (!Scan(paths_[i], &records_[i])) return;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, records_.size());
    for (size_t i = 0; i < records_.size(); i++) {
      const DirRecord& r = records_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("uid", Napi::Number::New(env, r.uid));
      o.Set("gid", Napi::Number::New(env, r.gid));
      o.Set("mode", Napi::Number::New(env, r.mode));
      Napi::Array xs = Napi::Array::New(env, r.xattrs.size());
      for (size_t j = 0; j < r.xattrs.size(); j++) {
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, Napi::String::New(env, r.xattrs[j].name));
        pair.Set(1u, Napi::Buffer<char>::Copy(env, r.xattrs[j].value.data(), r.xattrs[j].value.size()));
        xs.Set(static_cast<uint32_t>(j), pair);
      }
      o.Set("xattrs", xs);
      size_t n = r.entries.size();
      Napi::Array names = Napi::Array::New(env, n);
      Napi::Buffer<uint8_t> types = Napi::Buffer<uint8_t>::New(env, n);
      Napi::Float64Array sizes = Napi::Float64Array::New(env, n);
      for (size_t j = 0; j < n; j++) {
        names.Set(static_cast<uint32_t>(j), Napi::String::New(env, r.entries[j].name));
        types[j] = r.entries[j].type;
        sizes[j] = r.entries[j].size;
      }
      o.Set("names", names);
      o.Set("types", types);
      o.Set("sizes", sizes);
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

 private:
  bool Scan(const std::string& path, DirRecord* out) {
    // The top directory may be reached through a symlink (like ostree's
    // opendirat(follow)); entries below come from readdir and are real dirs.
    int dfd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    if (dfd < 0) return error_.Set(errno, "opendir", path);
    struct stat st;
    if (fstat(dfd, &st) < 0) {
      int e = errno;
      close(dfd);
      return error_.Set(e, "fstat", path);
    }
    out->uid = st.st_uid;
    out->gid = st.st_gid;
    out->mode = st.st_mode;
    if (xattrs_ && !ReadXattrs(path, dfd, /*skip_empty=*/true, &out->xattrs, &error_)) {
      close(dfd);
      return false;
    }
    DIR* d = fdopendir(dfd);
    if (!d) {
      int e = errno;
      close(dfd);
      return error_.Set(e, "opendir", path);
    }
    for (;;) {
      errno = 0;
      struct dirent* de = readdir(d);
      if (!de) {
        if (errno != 0) {
          int e = errno;
          closedir(d);
          return error_.Set(e, "readdir", path);
        }
        break;
      }
      const char* n = de->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      DirRecord::Entry e{n, kOther, 0};
      unsigned char t = de->d_type;
      if (t == DT_UNKNOWN || (t == DT_REG && sizes_)) {
        struct stat es;
        if (fstatat(dirfd(d), n, &es, AT_SYMLINK_NOFOLLOW) < 0) {
          int err = errno;
          closedir(d);
          return error_.Set(err, "fstatat", path + "/" + n);
        }
        e.type = S_ISREG(es.st_mode) ? kReg : S_ISDIR(es.st_mode) ? kDir : S_ISLNK(es.st_mode) ? kLink : kOther;
        if (e.type == kReg) e.size = static_cast<double>(es.st_size);
      } else {
        e.type = t == DT_REG ? kReg : t == DT_DIR ? kDir : t == DT_LNK ? kLink : kOther;
      }
      out->entries.push_back(std::move(e));
    }
    closedir(d);
    std::sort(out->entries.begin(), out->entries.end(),
              [](const DirRecord::Entry& a, const DirRecord::Entry& b) {
                return std::strcmp(a.name.c_str(), b.name.c_str()) < 0;
              });
    return true;
  }

  std::vector<std::string> paths_;
  bool xattrs_;
  bool sizes_;
  std::vector<DirRecord> records_;
};

bool PathArray(Napi::Env env, Napi::Value v, const char* what, std::vector<std::string>* out) {
  if (!v.IsArray()) return ThrowType(env, std::string("The \"") + what + "\" argument must be an array");
  Napi::Array arr = v.As<Napi::Array>();
  out->resize(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value x = arr.Get(i);
    if (env.IsExceptionPending()) return false;
    if (!args::Path(env, x, what, &(*out)[i])) return false;
  }
  return true;
}

}  // namespace

// content_write_batch(paths, opts, overrides?): Promise<{checksums, written, bytesWritten, fresh}>
Napi::Value ContentWriteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> paths;
  if (!PathArray(env, info[0], "paths", &paths)) return env.Undefined();
  Napi::Value opts, v;
  ContentOptions o;
  if (!args::Options(env, info[1], "opts", &opts)) return env.Undefined();
  if (!args::Prop(env, opts, "repo", &v) || !args::Path(env, v, "opts.repo", &o.repo)) {
    return env.Undefined();
  }
  std::string mode;
  if (!args::Prop(env, opts, "mode", &v) || !args::String(env, v, "opts.mode", &mode)) {
    return env.Undefined();
  }
  if (!ParseMode(mode, &o.mode)) {
    ThrowType(env, "opts.mode must be 'bare', 'bare-user', 'bare-user-only' or 'archive'");
    return env.Undefined();
  }
  int64_t level = -1, small = -1;
  if (!args::Prop(env, opts, "uid", &v) || !args::Uint32(env, v, "opts.uid", true, &o.uid) ||
      !args::Prop(env, opts, "gid", &v) || !args::Uint32(env, v, "opts.gid", true, &o.gid) ||
      !args::Prop(env, opts, "canonicalPermissions", &v) ||
      !args::Bool(env, v, "opts.canonicalPermissions", false, &o.canonical) ||
      !args::Prop(env, opts, "skipXattrs", &v) ||
      !args::Bool(env, v, "opts.skipXattrs", false, &o.skip_xattrs) ||
      !args::Prop(env, opts, "fsync", &v) || !args::Bool(env, v, "opts.fsync", false, &o.fsync) ||
      !args::Prop(env, opts, "writeback", &v) ||
      !args::Bool(env, v, "opts.writeback", true, &o.writeback) ||
      !args::Prop(env, opts, "zlibLevel", &v) ||
      !args::Uint32(env, v, "opts.zlibLevel", true, &level) ||
      !args::Prop(env, opts, "smallMax", &v) ||
      !args::Uint32(env, v, "opts.smallMax", true, &small)) {
    return env.Undefined();
  }
  if (level >= 0) {
    if (level > 9) {
      ThrowType(env, "opts.zlibLevel must be 0..9");
      return env.Undefined();
    }
    o.zlib_level = static_cast<int>(level);
  }
  if (small >= 0) o.small_max = std::max<size_t>(static_cast<size_t>(small), 4096);

  std::vector<Override> overrides;
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsArray()) {
      ThrowType(env, "The \"overrides\" argument must be an array of [index, '+'|'=', mode]");
      return env.Undefined();
    }
    Napi::Array arr = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value x = arr.Get(i);
      if (env.IsExceptionPending()) return env.Undefined();
      if (!x.IsArray() || x.As<Napi::Array>().Length() != 3) {
        ThrowType(env, "Each override must be [index, '+'|'=', mode]");
        return env.Undefined();
      }
      Napi::Array t = x.As<Napi::Array>();
      int64_t idx = 0, m = 0;
      std::string op;
      if (!args::Uint32(env, t.Get(0u), "override index", false, &idx) ||
          !args::String(env, t.Get(1u), "override op", &op) ||
          !args::Uint32(env, t.Get(2u), "override mode", false, &m)) {
        return env.Undefined();
      }
      if ((op != "+" && op != "=") || static_cast<size_t>(idx) >= paths.size()) {
        ThrowType(env, "Invalid override");
        return env.Undefined();
      }
      overrides.push_back(Override{static_cast<uint32_t>(idx), op == "=", static_cast<uint32_t>(m)});
    }
  }
  return PromiseWorker::Start(
      new ContentWorker(env, std::move(paths), std::move(o), std::move(overrides)));
}

// metadata_write_batch(repo, items: Array<[relPath, Buffer]>, opts: {fsync?}): Promise<number>
Napi::Value MetadataWriteBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string repo;
  if (!args::Path(env, info[0], "repo", &repo)) return env.Undefined();
  if (!info[1].IsArray()) {
    ThrowType(env, "The \"items\" argument must be an array of [path, Buffer]");
    return env.Undefined();
  }
  Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::pair<std::string, std::string>> items(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value x = arr.Get(i);
    if (env.IsExceptionPending()) return env.Undefined();
    if (!x.IsArray() || x.As<Napi::Array>().Length() != 2) {
      ThrowType(env, "Each item must be [path, Buffer]");
      return env.Undefined();
    }
    Napi::Array t = x.As<Napi::Array>();
    if (!args::Path(env, t.Get(0u), "item path", &items[i].first) ||
        !args::Bytes(env, t.Get(1u), "item data", &items[i].second)) {
      return env.Undefined();
    }
    const std::string& p = items[i].first;
    if (p.size() < 4 || p[2] != '/' || p.find("..") != std::string::npos || p[0] == '/') {
      ThrowType(env, "item path must be 'XX/rest.ext' relative to objects/");
      return env.Undefined();
    }
  }
  Napi::Value opts, v;
  bool fsync = false;
  if (!args::Options(env, info[2], "opts", &opts) || !args::Prop(env, opts, "fsync", &v) ||
      !args::Bool(env, v, "opts.fsync", false, &fsync)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new MetadataWorker(env, std::move(repo), fsync, std::move(items)));
}

// dirs_scan(paths, opts: {xattrs?, sizes?}): Promise<ScanDir[]>
Napi::Value DirsScan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> paths;
  if (!PathArray(env, info[0], "paths", &paths)) return env.Undefined();
  Napi::Value opts, v;
  bool xattrs = true, sizes = true;
  if (!args::Options(env, info[1], "opts", &opts) || !args::Prop(env, opts, "xattrs", &v) ||
      !args::Bool(env, v, "opts.xattrs", true, &xattrs) || !args::Prop(env, opts, "sizes", &v) ||
      !args::Bool(env, v, "opts.sizes", true, &sizes)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new ScanWorker(env, std::move(paths), xattrs, sizes));
}

}  // namespace ostree
