// checksum.cc: checksum_files(paths, opts) — see checksum.h.
// Mirrors ostree-core.c (file header, content checksum) and the metadata
// rules of ostree-repo-commit.c (commit modifiers) / bare-user reading.
#include "checksum.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "fsutil.h"
#include "gvariant.h"
#include "sha256.h"
#include "worker.h"
#include "xattr.h"

namespace ostree {

namespace {

constexpr size_t kReadBuffer = 256 * 1024;
// A bare-user symlink object holds its target: never more than a few KiB.
constexpr size_t kMaxSymlinkObject = 1024 * 1024;

struct ChecksumOptions {
  bool bare_user = false;
  int64_t uid = -1;
  int64_t gid = -1;
  bool canonical = false;
  bool skip_xattrs = false;
};

struct FileResult {
  std::string checksum;
  uint64_t size = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  bool is_symlink = false;
  std::string target;
  XattrList xattrs;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t nlink = 0;
};

class Checksummer {
 public:
  Checksummer(const ChecksumOptions& opts) : opts_(opts), buf_(kReadBuffer) {}

  bool Run(const std::string& path, FileResult* out, SysError* err) {
    struct stat st;
    if (lstat(path.c_str(), &st) < 0) return err->Set(errno, "lstat", path);
    if (!S_ISREG(st.st_mode) && !(S_ISLNK(st.st_mode) && !opts_.bare_user)) {
      return err->Set(EINVAL, "lstat", path, "",
                      opts_.bare_user
                          ? "unsupported file type (a bare-user object must "
                            "be a regular file)"
                          : "unsupported file type (not a regular file or "
                            "symlink)");
    }

    Fd fd;
    if (S_ISREG(st.st_mode)) {
      fd.Reset(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
      if (!fd.ok()) return err->Set(errno, "open", path);
      // Describe the file we actually opened.
      if (fstat(fd.get(), &st) < 0) return err->Set(errno, "fstat", path);
      if (!S_ISREG(st.st_mode)) {
        return err->Set(EINVAL, "open", path, "",
                        "unsupported file type (not a regular file or symlink)");
      }
    }
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    out->nlink = st.st_nlink;

    if (opts_.bare_user) return RunBareUser(path, fd.get(), out, err);

    out->mode = st.st_mode;
    out->uid = st.st_uid;
    out->gid = st.st_gid;
    if (!opts_.skip_xattrs && !opts_.canonical) {
      if (!ReadXattrs(path, fd.get(), /*skip_empty=*/true, &out->xattrs, err)) {
        return false;
      }
    }
    if (S_ISLNK(st.st_mode)) {
      out->is_symlink = true;
      if (!ReadLink(path, &out->target, err)) return false;
      out->size = out->target.size();
    }
    ApplyModifiers(out);
    return Hash(path, fd.get(), out, err);
  }

 private:
  bool RunBareUser(const std::string& path, int fd, FileResult* out,
                   SysError* err) {
    std::string meta;
    bool found = false;
    if (!ReadXattr(path, fd, "user.ostreemeta", &meta, &found, err)) {
      return false;
    }
    if (!found) return err->Set(ENODATA, "fgetxattr", path);
    if (!ParseOstreeMeta(meta, &out->uid, &out->gid, &out->mode,
                         &out->xattrs)) {
      return err->Set(EINVAL, "fgetxattr", path, "",
                      "invalid user.ostreemeta xattr");
    }
    if (opts_.skip_xattrs || opts_.canonical) out->xattrs.clear();
    if (S_ISLNK(out->mode)) {
      // The object's data is the target plus a trailing NUL.
      out->is_symlink = true;
      std::string data;
      for (;;) {
        ssize_t n = read(fd, buf_.data(), buf_.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return err->Set(errno, "read", path);
        }
        if (n == 0) break;
        data.append(buf_.data(), static_cast<size_t>(n));
        if (data.size() > kMaxSymlinkObject) {
          return err->Set(EINVAL, "read", path, "",
                          "bare-user symlink object too large");
        }
      }
      if (!data.empty() && data.back() == '\0') data.pop_back();
      if (data.find('\0') != std::string::npos) {
        return err->Set(EINVAL, "read", path, "",
                        "invalid bare-user symlink object");
      }
      out->target = std::move(data);
      out->size = out->target.size();
      ApplyModifiers(out);
      return Hash(path, -1, out, err);
    }
    if (!S_ISREG(out->mode)) {
      return err->Set(EINVAL, "fgetxattr", path, "",
                      "unsupported file type in user.ostreemeta");
    }
    ApplyModifiers(out);
    return Hash(path, fd, out, err);
  }

  // Commit modifiers: canonical permissions, then explicit owner overrides.
  void ApplyModifiers(FileResult* out) {
    if (opts_.canonical) {
      out->uid = 0;
      out->gid = 0;
      if (S_ISREG(out->mode)) out->mode &= (S_IFREG | 0755);
      out->xattrs.clear();
    }
    if (opts_.uid >= 0) out->uid = static_cast<uint32_t>(opts_.uid);
    if (opts_.gid >= 0) out->gid = static_cast<uint32_t>(opts_.gid);
  }

  // Hashes the object stream; fd < 0 means no data (symlinks).
  bool Hash(const std::string& path, int fd, FileResult* out, SysError* err) {
    std::string header =
        BuildFileHeader(out->uid, out->gid, out->mode,
                        out->is_symlink ? out->target : std::string(),
                        out->xattrs);
    unsigned char prefix[8] = {0};
    uint32_t len = static_cast<uint32_t>(header.size());
    prefix[0] = static_cast<unsigned char>(len >> 24);
    prefix[1] = static_cast<unsigned char>(len >> 16);
    prefix[2] = static_cast<unsigned char>(len >> 8);
    prefix[3] = static_cast<unsigned char>(len);
    if (!sha_.Reset() || !sha_.Update(prefix, sizeof prefix) ||
        !sha_.Update(header.data(), header.size())) {
      return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
    }
    if (fd >= 0) {
      uint64_t total = 0;
      for (;;) {
        ssize_t n = read(fd, buf_.data(), buf_.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          return err->Set(errno, "read", path);
        }
        if (n == 0) break;
        if (!sha_.Update(buf_.data(), static_cast<size_t>(n))) {
          return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
        }
        total += static_cast<uint64_t>(n);
      }
      out->size = total;
    }
    out->checksum = sha_.FinishHex();
    if (out->checksum.empty()) {
      return err->Set(EIO, "sha256", path, "", "SHA-256 failed");
    }
    return true;
  }

  ChecksumOptions opts_;
  std::vector<char> buf_;
  Sha256 sha_;
};

class ChecksumWorker : public PromiseWorker {
 public:
  ChecksumWorker(Napi::Env env, std::vector<std::string> paths,
                 ChecksumOptions opts)
      : PromiseWorker(env, "ostree:checksum_files"),
        paths_(std::move(paths)),
        opts_(opts) {}

  void Execute() override {
    Checksummer summer(opts_);
    results_.resize(paths_.size());
    for (size_t i = 0; i < paths_.size(); i++) {
      if (!summer.Run(paths_[i], &results_[i], &error_)) return;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Array arr = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      const FileResult& r = results_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("checksum", Napi::String::New(env, r.checksum));
      o.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
      o.Set("mode", Napi::Number::New(env, r.mode));
      o.Set("uid", Napi::Number::New(env, r.uid));
      o.Set("gid", Napi::Number::New(env, r.gid));
      if (r.is_symlink) {
        o.Set("symlinkTarget", Napi::String::New(env, r.target));
      } else {
        o.Set("symlinkTarget", env.Null());
      }
      Napi::Array xs = Napi::Array::New(env, r.xattrs.size());
      for (size_t j = 0; j < r.xattrs.size(); j++) {
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, Napi::String::New(env, r.xattrs[j].name));
        pair.Set(1u, Napi::Buffer<char>::Copy(env, r.xattrs[j].value.data(),
                                              r.xattrs[j].value.size()));
        xs.Set(static_cast<uint32_t>(j), pair);
      }
      o.Set("xattrs", xs);
      o.Set("dev", Napi::Number::New(env, static_cast<double>(r.dev)));
      o.Set("ino", Napi::Number::New(env, static_cast<double>(r.ino)));
      o.Set("nlink", Napi::Number::New(env, static_cast<double>(r.nlink)));
      arr.Set(static_cast<uint32_t>(i), o);
    }
    return arr;
  }

 private:
  std::vector<std::string> paths_;
  ChecksumOptions opts_;
  std::vector<FileResult> results_;
};

}  // namespace

// checksum_files(paths: string[], opts: ChecksumOptions): Promise<FileChecksum[]>
Napi::Value ChecksumFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowType(env, "The \"paths\" argument must be an array of paths");
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::string> paths(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (env.IsExceptionPending()) return env.Undefined();
    if (!args::Path(env, v, "paths", &paths[i])) return env.Undefined();
  }

  Napi::Value opts, v;
  ChecksumOptions o;
  if (!args::Options(env, info[1], "opts", &opts)) return env.Undefined();
  if (!args::Prop(env, opts, "source", &v)) return env.Undefined();
  if (!v.IsUndefined() && !v.IsNull()) {
    std::string source;
    if (!args::String(env, v, "opts.source", &source)) return env.Undefined();
    if (source == "bare-user") {
      o.bare_user = true;
    } else if (source != "fs") {
      ThrowType(env, "opts.source must be 'fs' or 'bare-user'");
      return env.Undefined();
    }
  }
  if (!args::Prop(env, opts, "uid", &v) ||
      !args::Uint32(env, v, "opts.uid", true, &o.uid) ||
      !args::Prop(env, opts, "gid", &v) ||
      !args::Uint32(env, v, "opts.gid", true, &o.gid) ||
      !args::Prop(env, opts, "canonicalPermissions", &v) ||
      !args::Bool(env, v, "opts.canonicalPermissions", false, &o.canonical) ||
      !args::Prop(env, opts, "skipXattrs", &v) ||
      !args::Bool(env, v, "opts.skipXattrs", false, &o.skip_xattrs)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new ChecksumWorker(env, std::move(paths), o));
}

}  // namespace ostree
