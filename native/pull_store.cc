// pull_store.cc: see pull_store.h.
#include "pull_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "fsutil.h"
#include "gvariant.h"
#include "objread.h"
#include "sha256.h"
#include "store.h"
#include "worker.h"
#include "xattr.h"

namespace ostree {

namespace {

// Header lengths beyond this are not a real object (as objread.cc).
constexpr uint32_t kMaxHeader = 64u << 20;

enum class Outcome { kWritten, kExisted, kCorrupt, kRejected };

// A downloaded `.filez`: a file directly in REPO/tmp (consumed: archive
// repos link it as the object) or bytes in memory.
struct FilezSource {
  int fd = -1;
  std::string tmp_name;
  const char* mem = nullptr;  // memory input (when set): `len` bytes
  size_t len = 0;
  size_t pos = 0;
  std::string path;  // for messages
};

struct FilezResult {
  Outcome outcome = Outcome::kCorrupt;
  std::string actual;
  std::string message;
  uint64_t size = 0;
  uint32_t mode = 0;
};

// Verify-then-store of `.filez` objects into one repository; reusable for
// many objects (one inflater, one hasher, one open store).
class FilezStorer {
 public:
  // `check_modes`: answer kRejected (nothing stored) for a header whose mode
  // is not a regular file or symlink, has bits outside S_IFMT|07777, or — with
  // `user_only` — a regular file with bits outside 0775; the caller then
  // reports it in its own words.
  FilezStorer(const std::string& repo, RepoMode mode, bool fsync, bool check_modes, bool user_only)
      : mode_(mode), store_(repo, fsync), check_modes_(check_modes), user_only_(user_only) {}

  bool Open(SysError* err) { return store_.Open(err); }

  // false: a system error in *err; otherwise *r tells what happened.
  bool Store(FilezSource* in, const std::string& expected, FilezResult* r, SysError* err) {
    const std::string& path = in->path;
    // u32be header length, 4 bytes of padding, the header, raw deflate.
    unsigned char prefix[8];
    size_t got = 0;
    if (!Read(in, reinterpret_cast<char*>(prefix), 8, &got, err)) return false;
    if (got < 8) return Corrupt(r, "File header too short");
    uint32_t len = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                   (uint32_t(prefix[2]) << 8) | prefix[3];
    if (len > kMaxHeader) return Corrupt(r, "File header too large");
    std::string zbytes(len, '\0');
    if (!Read(in, &zbytes[0], len, &got, err)) return false;
    if (got < len) return Corrupt(r, "File header size exceeds file size");
    ZlibHeader zh;
    if (!ParseZlibHeader(zbytes, &zh)) return Corrupt(r, "Corrupted archive file header");
    r->mode = zh.mode;
    bool link = S_ISLNK(zh.mode);
    if (check_modes_) {
      bool reg = S_ISREG(zh.mode);
      if ((!reg && !link) || (zh.mode & ~(S_IFMT | 07777)) || (user_only_ && reg && (zh.mode & 07777 & ~0775u))) {
        r->outcome = Outcome::kRejected;
        return true;
      }
    }
    if (!link && !S_ISREG(zh.mode)) return Corrupt(r, "Invalid file type in header");
    if (link && zh.size != 0) return Corrupt(r, "Symbolic link with a payload");

    // The checksum covers the file header (not the archive header) and the payload.
    std::string header = BuildFileHeader(zh.uid, zh.gid, zh.mode, link ? zh.symlink_target : std::string(), zh.xattrs);
    unsigned char hp[8] = {0};
    uint32_t hl = static_cast<uint32_t>(header.size());
    hp[0] = static_cast<unsigned char>(hl >> 24);
    hp[1] = static_cast<unsigned char>(hl >> 16);
    hp[2] = static_cast<unsigned char>(hl >> 8);
    hp[3] = static_cast<unsigned char>(hl);
    if (!sha_.Reset() || !sha_.Update(hp, 8) || !sha_.Update(header.data(), header.size())) {
      return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
    }
    r->size = zh.size;
    const std::string rel = ObjectStore::Rel(expected, mode_ == RepoMode::kArchive ? "filez" : "file");
    // Errors writing name the object in the repo (`path` is the download).
    const std::string where = store_.ObjPath(rel);
    const bool bare_file = !link && mode_ != RepoMode::kArchive;

    // Bare modes: the inflated payload goes to a new temp file while it is hashed.
    ObjectStore::Tmp out;
    if (bare_file && !store_.CreateTmp(&out, err)) return false;
    auto discard = [&]() {
      if (bare_file) store_.Discard(&out);
    };
    if (!link) {
      SysError ierr;
      auto sink = [&](const char* p, size_t n) {
        if (!sha_.Update(p, n)) return ierr.Set(EIO, "sha256", path, "", "SHA-256 failed");
        if (bare_file) return WriteAll(out.fd.get(), p, n, where, &ierr);
        return true;
      };
      bool ok = in->mem ? inflater_.RunMem(in->mem + in->pos, in->len - in->pos, zh.size, path, &ierr, sink)
                        : inflater_.Run(in->fd, zh.size, path, &ierr, sink);
      if (!ok) {
        discard();
        if (ierr.syscall == "inflate") return Corrupt(r, ierr.detail);
        *err = ierr;
        return false;
      }
    }
    r->actual = sha_.FinishHex();
    if (r->actual.size() != 64) {
      discard();
      return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
    }
    if (r->actual != expected) {
      discard();
      return Corrupt(r, "checksum mismatch");
    }

    // Verified: now it may enter objects/.
    bool existed = false;
    if (mode_ == RepoMode::kArchive) {
      ObjectStore::Tmp t;
      if (in->mem) {
        // The downloaded bytes are the object.
        if (!store_.CreateTmp(&t, err)) return false;
        if (!WriteAll(t.fd.get(), in->mem, in->len, where, err) || fchmod(t.fd.get(), 0644) < 0) {
          if (!err->failed()) err->Set(errno, "fchmod", where);
          store_.Discard(&t);
          return false;
        }
      } else {
        // The downloaded file is already the object.
        if (fchmod(in->fd, 0644) < 0) return err->Set(errno, "fchmod", path);
        t.fd.Reset(dup(in->fd));
        if (!t.fd.ok()) return err->Set(errno, "dup", path);
        t.name = in->tmp_name;
      }
      if (!store_.Commit(&t, rel, &existed, err)) return false;
      if (existed) store_.Discard(&t);
    } else if (link) {
      if (mode_ == RepoMode::kBareUser) {
        if (!store_.CreateTmp(&out, err)) return false;
        std::string data = zh.symlink_target;
        data.push_back('\0');
        if (!WriteAll(out.fd.get(), data.data(), data.size(), where, err) ||
            !ApplyMeta(out.fd.get(), zh, where, err) || !store_.Commit(&out, rel, &existed, err)) {
          store_.Discard(&out);
          return false;
        }
      } else {
        bool bare = mode_ == RepoMode::kBare;
        if (!store_.CommitSymlink(zh.symlink_target, rel, bare ? zh.uid : -1, bare ? zh.gid : -1,
                                  bare ? &zh.xattrs : nullptr, &existed, err)) {
          return false;
        }
      }
    } else {
      if (!ApplyMeta(out.fd.get(), zh, where, err) || !store_.Commit(&out, rel, &existed, err)) {
        store_.Discard(&out);
        return false;
      }
    }
    if (existed) store_.Discard(&out);
    r->outcome = existed ? Outcome::kExisted : Outcome::kWritten;
    return true;
  }

 private:
  static bool Corrupt(FilezResult* r, const std::string& why) {
    r->outcome = Outcome::kCorrupt;
    r->message = why;
    return true;
  }

  static bool Read(FilezSource* in, char* buf, size_t len, size_t* got, SysError* err) {
    *got = 0;
    if (in->mem) {
      size_t n = std::min(len, in->len - in->pos);
      memcpy(buf, in->mem + in->pos, n);
      in->pos += n;
      *got = n;
      return true;
    }
    while (*got < len) {
      ssize_t n = read(in->fd, buf + *got, len - *got);
      if (n < 0) {
        if (errno == EINTR) continue;
        return err->Set(errno, "read", in->path);
      }
      if (n == 0) break;
      *got += static_cast<size_t>(n);
    }
    return true;
  }

  // The object's metadata in this repository mode (FORMATS.md §3.3): chown
  // first (it clears suid bits), xattrs before a read-only chmod, mtime 0.
  bool ApplyMeta(int fd, const ZlibHeader& zh, const std::string& path, SysError* err) {
    bool link = S_ISLNK(zh.mode);
    switch (mode_) {
      case RepoMode::kBare:
        if (fchown(fd, zh.uid, zh.gid) < 0) return err->Set(errno, "fchown", path);
        if (!zh.xattrs.empty() && !WriteXattrs(path, fd, zh.xattrs, err)) return false;
        if (fchmod(fd, zh.mode & 07777) < 0) return err->Set(errno, "fchmod", path);
        break;
      case RepoMode::kBareUser: {
        XattrList meta{Xattr{"user.ostreemeta", BuildOstreeMeta(zh.uid, zh.gid, zh.mode, zh.xattrs)}};
        if (!WriteXattrs(path, fd, meta, err)) return false;
        uint32_t perms = link ? 0644 : ((zh.mode & 0775) | 0400);
        if (fchmod(fd, perms) < 0) return err->Set(errno, "fchmod", path);
        break;
      }
      case RepoMode::kBareUserOnly:
        if (fchmod(fd, zh.mode & 07777) < 0) return err->Set(errno, "fchmod", path);
        break;
      case RepoMode::kArchive:
        if (fchmod(fd, 0644) < 0) return err->Set(errno, "fchmod", path);
        return true;
    }
    return SetMtimeZero(fd, path, err);
  }

  RepoMode mode_;
  ObjectStore store_;
  bool check_modes_;
  bool user_only_;
  Inflater inflater_;
  Sha256 sha_;
};

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kWritten: return "written";
    case Outcome::kExisted: return "existed";
    case Outcome::kRejected: return "rejected";
    default: return "corrupt";
  }
}

class StoreFilezWorker : public PromiseWorker {
 public:
  StoreFilezWorker(Napi::Env env, std::string repo, RepoMode mode, std::string name,
                   std::string expected, bool fsync)
      : PromiseWorker(env, "ostree:content_store_filez"),
        repo_(std::move(repo)),
        name_(std::move(name)),
        expected_(std::move(expected)),
        storer_(repo_, mode, fsync, false, false) {}

  void Execute() override {
    if (!storer_.Open(&error_)) return;
    FilezSource in;
    in.path = repo_ + "/tmp/" + name_;
    in.tmp_name = name_;
    Fd fd(open(in.path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd.ok()) {
      error_.Set(errno, "open", in.path);
      return;
    }
    in.fd = fd.get();
    storer_.Store(&in, expected_, &result_, &error_);
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("status", Napi::String::New(env, OutcomeName(result_.outcome)));
    o.Set("checksum", Napi::String::New(env, result_.actual));
    o.Set("size", Napi::Number::New(env, static_cast<double>(result_.size)));
    o.Set("message", Napi::String::New(env, result_.message));
    return o;
  }

 private:
  std::string repo_;
  std::string name_;
  std::string expected_;
  FilezStorer storer_;
  FilezResult result_;
};

// Many small `.filez` held in memory, stored in one pool job.
class StoreFilezBatchWorker : public PromiseWorker {
 public:
  // `bufs` stay referenced (not copied) until the worker is freed on the
  // main thread; their bytes do not move, and nothing writes to them.
  StoreFilezBatchWorker(Napi::Env env, std::string repo, RepoMode mode, std::vector<std::string> sums,
                        std::vector<Napi::Buffer<char>> bufs, bool fsync, bool user_only)
      : PromiseWorker(env, "ostree:content_store_filez_batch"),
        sums_(std::move(sums)),
        storer_(repo, mode, fsync, true, user_only),
        results_(sums_.size()) {
    for (auto& b : bufs) {
      data_.push_back({b.Data(), b.Length()});
      refs_.push_back(Napi::Persistent(static_cast<Napi::Object>(b)));
    }
  }

  void Execute() override {
    if (!storer_.Open(&error_)) return;
    for (size_t i = 0; i < sums_.size(); i++) {
      FilezSource in;
      in.mem = data_[i].first;
      in.len = data_[i].second;
      in.path = sums_[i] + ".filez";
      if (!storer_.Store(&in, sums_[i], &results_[i], &error_)) return;
    }
  }

  // [{status, size, mode, message}] in input order (`checksum` only when corrupt).
  Napi::Value Resolve(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      const FilezResult& r = results_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("status", Napi::String::New(env, OutcomeName(r.outcome)));
      o.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
      o.Set("mode", Napi::Number::New(env, r.mode));
      if (r.outcome == Outcome::kCorrupt) {
        o.Set("checksum", Napi::String::New(env, r.actual));
        o.Set("message", Napi::String::New(env, r.message));
      }
      a.Set(static_cast<uint32_t>(i), o);
    }
    return a;
  }

 private:
  std::vector<std::string> sums_;
  std::vector<std::pair<const char*, size_t>> data_;
  std::vector<Napi::ObjectReference> refs_;
  FilezStorer storer_;
  std::vector<FilezResult> results_;
};


}  // namespace

// content_store_filez(repo, mode, tmpName, checksum, opts: {fsync?}):
//   Promise<{status: 'written'|'existed'|'corrupt', checksum, size, message}>
// `tmpName` is a file directly in REPO/tmp holding the downloaded object.
Napi::Value ContentStoreFilez(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string repo, mode, name, csum;
  if (!args::Path(env, info[0], "repo", &repo) || !args::String(env, info[1], "mode", &mode) ||
      !args::String(env, info[2], "tmpName", &name) || !args::String(env, info[3], "checksum", &csum)) {
    return env.Undefined();
  }
  RepoMode m;
  if (!ParseRepoMode(mode, &m)) {
    ThrowType(env, "Invalid repository mode '" + mode + "'");
    return env.Undefined();
  }
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos) {
    ThrowType(env, "tmpName must be a plain file name in the repository's tmp/");
    return env.Undefined();
  }
  if (!args::IsHex64(csum)) {
    ThrowType(env, "checksum must be 64 lowercase hex characters");
    return env.Undefined();
  }
  Napi::Value opts, v;
  bool fsync = false;
  if (!args::Options(env, info[4], "opts", &opts) || !args::Prop(env, opts, "fsync", &v) ||
      !args::Bool(env, v, "opts.fsync", false, &fsync)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new StoreFilezWorker(env, std::move(repo), m, std::move(name), std::move(csum), fsync));
}

}  // namespace ostree

namespace ostree {

// content_store_filez_batch(repo, mode, items: Array<[checksum, Buffer]>,
//   opts: {fsync?, userOnlyModes?}): Promise<Array<{status, size, mode,
//   checksum?, message?}>> — each item a whole downloaded `.filez`; status
//   'written' | 'existed' | 'corrupt' | 'rejected' (mode refused, nothing
//   stored). Items are stored in order; a system error rejects the promise
//   (items before it may be stored).
Napi::Value ContentStoreFilezBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string repo, mode;
  if (!args::Path(env, info[0], "repo", &repo) || !args::String(env, info[1], "mode", &mode)) {
    return env.Undefined();
  }
  RepoMode m;
  if (!ParseRepoMode(mode, &m)) {
    ThrowType(env, "Invalid repository mode '" + mode + "'");
    return env.Undefined();
  }
  std::vector<std::string> sums;
  std::vector<Napi::Buffer<char>> bufs;
  if (!args::ChecksumBuffers(env, info[2], "items", &sums, &bufs)) return env.Undefined();
  Napi::Value opts, v;
  bool fsync = false, user_only = false;
  if (!args::Options(env, info[3], "opts", &opts) || !args::Prop(env, opts, "fsync", &v) ||
      !args::Bool(env, v, "opts.fsync", false, &fsync) || !args::Prop(env, opts, "userOnlyModes", &v) ||
      !args::Bool(env, v, "opts.userOnlyModes", false, &user_only)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new StoreFilezBatchWorker(env, std::move(repo), m, std::move(sums), std::move(bufs), fsync, user_only));
}

}  // namespace ostree
