// pull_store.cc: see pull_store.h.
#include "pull_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

enum class Outcome { kWritten, kExisted, kCorrupt };

class StoreFilezWorker : public PromiseWorker {
 public:
  StoreFilezWorker(Napi::Env env, std::string repo, RepoMode mode, std::string name,
                   std::string expected, bool fsync)
      : PromiseWorker(env, "ostree:content_store_filez"),
        repo_(std::move(repo)),
        mode_(mode),
        name_(std::move(name)),
        expected_(std::move(expected)),
        store_(repo_, fsync) {}

  void Execute() override {
    if (!store_.Open(&error_)) return;
    const std::string path = repo_ + "/tmp/" + name_;
    Fd in(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!in.ok()) {
      error_.Set(errno, "open", path);
      return;
    }

    // u32be header length, 4 bytes of padding, the header, raw deflate.
    unsigned char prefix[8];
    size_t got = 0;
    if (!ReadFull(in.get(), reinterpret_cast<char*>(prefix), 8, &got, path)) return;
    if (got < 8) return Corrupt("File header too short");
    uint32_t len = (uint32_t(prefix[0]) << 24) | (uint32_t(prefix[1]) << 16) |
                   (uint32_t(prefix[2]) << 8) | prefix[3];
    if (len > kMaxHeader) return Corrupt("File header too large");
    std::string zbytes(len, '\0');
    if (!ReadFull(in.get(), &zbytes[0], len, &got, path)) return;
    if (got < len) return Corrupt("File header size exceeds file size");
    ZlibHeader zh;
    if (!ParseZlibHeader(zbytes, &zh)) return Corrupt("Corrupted archive file header");
    bool link = S_ISLNK(zh.mode);
    if (!link && !S_ISREG(zh.mode)) return Corrupt("Invalid file type in header");
    if (link && zh.size != 0) return Corrupt("Symbolic link with a payload");

    // The checksum covers the file header (not the archive header) and the payload.
    std::string header = BuildFileHeader(zh.uid, zh.gid, zh.mode, link ? zh.symlink_target : std::string(), zh.xattrs);
    unsigned char hp[8] = {0};
    uint32_t hl = static_cast<uint32_t>(header.size());
    hp[0] = static_cast<unsigned char>(hl >> 24);
    hp[1] = static_cast<unsigned char>(hl >> 16);
    hp[2] = static_cast<unsigned char>(hl >> 8);
    hp[3] = static_cast<unsigned char>(hl);
    if (!sha_.Reset() || !sha_.Update(hp, 8) || !sha_.Update(header.data(), header.size())) {
      error_.Set(EIO, "sha256", path, "", "SHA-256 failed");
      return;
    }
    size_ = zh.size;
    const std::string rel = ObjectStore::Rel(expected_, mode_ == RepoMode::kArchive ? "filez" : "file");
    const bool bare_file = !link && mode_ != RepoMode::kArchive;

    // Bare modes: the inflated payload goes to a new temp file while it is hashed.
    ObjectStore::Tmp out;
    if (bare_file && !store_.CreateTmp(&out, &error_)) return;
    auto discard = [&]() {
      if (bare_file) store_.Discard(&out);
    };
    if (!link) {
      SysError ierr;
      bool ok = inflater_.Run(in.get(), zh.size, path, &ierr, [&](const char* p, size_t n) {
        if (!sha_.Update(p, n)) return ierr.Set(EIO, "sha256", path, "", "SHA-256 failed");
        if (bare_file) return WriteAll(out.fd.get(), p, n, path, &ierr);
        return true;
      });
      if (!ok) {
        discard();
        if (ierr.syscall == "inflate") return Corrupt(ierr.detail);
        error_ = ierr;
        return;
      }
    }
    actual_ = sha_.FinishHex();
    if (actual_.size() != 64) {
      discard();
      error_.Set(EIO, "sha256", path, "", "SHA-256 failed");
      return;
    }
    if (actual_ != expected_) {
      discard();
      outcome_ = Outcome::kCorrupt;
      message_ = "checksum mismatch";
      return;
    }

    // Verified: now it may enter objects/.
    bool existed = false;
    if (mode_ == RepoMode::kArchive) {
      // The downloaded file is already the object.
      if (fchmod(in.get(), 0644) < 0) {
        error_.Set(errno, "fchmod", path);
        return;
      }
      ObjectStore::Tmp t;
      t.fd = std::move(in);
      t.name = name_;
      if (!store_.Commit(&t, rel, &existed, &error_)) return;
    } else if (link) {
      if (mode_ == RepoMode::kBareUser) {
        if (!store_.CreateTmp(&out, &error_)) return;
        std::string data = zh.symlink_target;
        data.push_back('\0');
        if (!WriteAll(out.fd.get(), data.data(), data.size(), path, &error_) ||
            !ApplyMeta(out.fd.get(), zh, path) || !store_.Commit(&out, rel, &existed, &error_)) {
          store_.Discard(&out);
          return;
        }
      } else {
        bool bare = mode_ == RepoMode::kBare;
        if (!store_.CommitSymlink(zh.symlink_target, rel, bare ? zh.uid : -1, bare ? zh.gid : -1,
                                  bare ? &zh.xattrs : nullptr, &existed, &error_)) {
          return;
        }
      }
    } else {
      if (!ApplyMeta(out.fd.get(), zh, path) || !store_.Commit(&out, rel, &existed, &error_)) {
        store_.Discard(&out);
        return;
      }
    }
    if (existed) store_.Discard(&out);
    outcome_ = existed ? Outcome::kExisted : Outcome::kWritten;
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    const char* s = outcome_ == Outcome::kWritten ? "written" : outcome_ == Outcome::kExisted ? "existed" : "corrupt";
    o.Set("status", Napi::String::New(env, s));
    o.Set("checksum", Napi::String::New(env, actual_));
    o.Set("size", Napi::Number::New(env, static_cast<double>(size_)));
    o.Set("message", Napi::String::New(env, message_));
    return o;
  }

 private:
  void Corrupt(const std::string& why) {
    outcome_ = Outcome::kCorrupt;
    message_ = why;
  }

  bool ReadFull(int fd, char* buf, size_t len, size_t* got, const std::string& path) {
    *got = 0;
    while (*got < len) {
      ssize_t n = read(fd, buf + *got, len - *got);
      if (n < 0) {
        if (errno == EINTR) continue;
        return error_.Set(errno, "read", path);
      }
      if (n == 0) break;
      *got += static_cast<size_t>(n);
    }
    return true;
  }

  // The object's metadata in this repository mode (FORMATS.md §3.3): chown
  // first (it clears suid bits), xattrs before a read-only chmod, mtime 0.
  bool ApplyMeta(int fd, const ZlibHeader& zh, const std::string& path) {
    bool link = S_ISLNK(zh.mode);
    switch (mode_) {
      case RepoMode::kBare:
        if (fchown(fd, zh.uid, zh.gid) < 0) return error_.Set(errno, "fchown", path);
        if (!zh.xattrs.empty() && !WriteXattrs(path, fd, zh.xattrs, &error_)) return false;
        if (fchmod(fd, zh.mode & 07777) < 0) return error_.Set(errno, "fchmod", path);
        break;
      case RepoMode::kBareUser: {
        XattrList meta{Xattr{"user.ostreemeta", BuildOstreeMeta(zh.uid, zh.gid, zh.mode, zh.xattrs)}};
        if (!WriteXattrs(path, fd, meta, &error_)) return false;
        uint32_t perms = link ? 0644 : ((zh.mode & 0775) | 0400);
        if (fchmod(fd, perms) < 0) return error_.Set(errno, "fchmod", path);
        break;
      }
      case RepoMode::kBareUserOnly:
        if (fchmod(fd, zh.mode & 07777) < 0) return error_.Set(errno, "fchmod", path);
        break;
      case RepoMode::kArchive:
        if (fchmod(fd, 0644) < 0) return error_.Set(errno, "fchmod", path);
        return true;
    }
    return SetMtimeZero(fd, path, &error_);
  }

  std::string repo_;
  RepoMode mode_;
  std::string name_;
  std::string expected_;
  ObjectStore store_;
  Inflater inflater_;
  Sha256 sha_;
  Outcome outcome_ = Outcome::kCorrupt;
  std::string actual_;
  std::string message_;
  uint64_t size_ = 0;
};

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

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
  if (!IsHex64(csum)) {
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
