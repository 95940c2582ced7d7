// repo_batch.cc: see repo_batch.h.
#include "repo_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "crash_point.h"
#include "fsutil.h"
#include "gvariant.h"
#include "objread.h"
#include "sha256.h"
#include "worker.h"

namespace ostree {

namespace {

bool StringArray(Napi::Env env, Napi::Value v, const char* what, bool paths,
                 std::vector<std::string>* out) {
  if (!v.IsArray()) return ThrowType(env, std::string("The \"") + what + "\" argument must be an array");
  Napi::Array a = v.As<Napi::Array>();
  out->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value x = a.Get(i);
    if (env.IsExceptionPending()) return false;
    if (paths ? !args::Path(env, x, what, &(*out)[i]) : !args::String(env, x, what, &(*out)[i])) {
      return false;
    }
  }
  return true;
}

// An object path relative to objects/: "XX/<62 hex>.<ext>", nothing else.
bool ValidRel(const std::string& p) {
  if (p.size() < 67 || p[2] != '/' || p[65] != '.') return false;
  for (size_t i = 0; i < 65; i++) {
    if (i == 2) continue;
    char c = p[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  for (size_t i = 66; i < p.size(); i++) {
    char c = p[i];
    if (!(c >= 'a' && c <= 'z')) return false;
  }
  return true;
}

bool RelArray(Napi::Env env, Napi::Value v, std::vector<std::string>* out) {
  if (!StringArray(env, v, "rels", false, out)) return false;
  for (const std::string& r : *out) {
    if (!ValidRel(r)) return ThrowType(env, "Invalid object path '" + r + "' (expected XX/<62 hex>.<type>)");
  }
  return true;
}

// ---------------------------------------------------------------- metadata_read_batch

class MetaReadWorker : public PromiseWorker {
 public:
  MetaReadWorker(Napi::Env env, std::vector<std::string> repos, std::vector<std::string> rels, bool sha,
                 bool dirtree)
      : PromiseWorker(env, "ostree:metadata_read_batch"),
        repos_(std::move(repos)),
        rels_(std::move(rels)),
        sha_(sha),
        dirtree_(dirtree) {}

  void Execute() override {
    std::vector<Fd> dirs(repos_.size());
    for (size_t i = 0; i < repos_.size(); i++) {
      std::string p = repos_[i] + "/objects";
      dirs[i].Reset(open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!dirs[i].ok() && errno != ENOENT) {
        error_.Set(errno, "open", p);
        return;
      }
    }
    data_.resize(rels_.size());
    where_.assign(rels_.size(), -1);
    if (dirtree_) valid_.assign(rels_.size(), 0);
    DirTreeEntries entries;
    if (sha_) sums_.reserve(64 * rels_.size());
    Sha256 sha;
    for (size_t i = 0; i < rels_.size(); i++) {
      for (size_t s = 0; s < dirs.size() && where_[i] < 0; s++) {
        if (!dirs[s].ok()) continue;
        int fd = openat(dirs[s].get(), rels_[i].c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
          if (errno == ENOENT) continue;
          error_.Set(errno, "open", repos_[s] + "/objects/" + rels_[i]);
          return;
        }
        Fd f(fd);
        struct stat st;
        if (fstat(fd, &st) < 0) {
          error_.Set(errno, "fstat", repos_[s] + "/objects/" + rels_[i]);
          return;
        }
        if (!ReadToEnd(fd, static_cast<size_t>(st.st_size), &data_[i])) {
          error_.Set(errno, "read", repos_[s] + "/objects/" + rels_[i]);
          return;
        }
        where_[i] = static_cast<int32_t>(s);
      }
      if (dirtree_ && where_[i] >= 0) valid_[i] = ParseDirTree(data_[i], &entries) ? 1 : 0;
      if (sha_) {
        if (where_[i] >= 0) {
          if (!sha.Reset() || !sha.Update(data_[i].data(), data_[i].size())) {
            error_.Set(EIO, "sha256", rels_[i], "", "SHA-256 failed");
            return;
          }
          sums_ += sha.FinishHex();
        } else {
          sums_.append(64, '0');
        }
      }
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    Napi::Array arr = Napi::Array::New(env, data_.size());
    Napi::Int32Array where = Napi::Int32Array::New(env, data_.size());
    for (size_t i = 0; i < data_.size(); i++) {
      where[i] = where_[i];
      if (where_[i] < 0) {
        arr.Set(static_cast<uint32_t>(i), env.Null());
      } else {
        arr.Set(static_cast<uint32_t>(i), Napi::Buffer<char>::Copy(env, data_[i].data(), data_[i].size()));
      }
    }
    o.Set("data", arr);
    o.Set("store", where);
    if (sha_) o.Set("sha256", Napi::String::New(env, sums_));
    if (dirtree_) {
      Napi::Uint8Array valid = Napi::Uint8Array::New(env, valid_.size());
      for (size_t i = 0; i < valid_.size(); i++) valid[i] = valid_[i];
      o.Set("dirtreeValid", valid);
    }
    return o;
  }

 private:
  std::vector<std::string> repos_;
  std::vector<std::string> rels_;
  bool sha_;
  bool dirtree_;
  std::vector<uint8_t> valid_;
  std::vector<std::string> data_;
  std::vector<int32_t> where_;
  std::string sums_;
};

// ---------------------------------------------------------------- content_verify_batch

class VerifyWorker : public PromiseWorker {
 public:
  VerifyWorker(Napi::Env env, std::string repo, RepoMode mode, bool disable_xattrs, std::string csums)
      : PromiseWorker(env, "ostree:content_verify_batch"),
        repo_(std::move(repo)),
        mode_(mode),
        disable_xattrs_(disable_xattrs),
        csums_(std::move(csums)) {}

  void Execute() override {
    std::vector<ObjectDir> stores(1);
    stores[0].path = repo_;
    stores[0].mode = mode_;
    stores[0].disable_xattrs = disable_xattrs_;
    if (!stores[0].Open(&error_)) return;
    ObjectReader reader(&stores, /*want_xattrs=*/true);
    size_t n = csums_.size() / 64;
    status_.assign(n, 0);
    modes_.assign(n, 0);
    sums_.reserve(csums_.size());
    Sha256 sha;
    for (size_t i = 0; i < n; i++) {
      ContentObject o;
      SysError err;
      LoadStatus st = reader.Load(csums_.data() + 64 * i, &o, &err);
      bool ok = st == LoadStatus::kOk;
      if (ok) {
        modes_[i] = o.mode;
        std::string header = BuildFileHeader(o.uid, o.gid, o.mode, o.is_symlink ? o.target : std::string(), o.xattrs);
        unsigned char prefix[8] = {0};
        uint32_t len = static_cast<uint32_t>(header.size());
        prefix[0] = static_cast<unsigned char>(len >> 24);
        prefix[1] = static_cast<unsigned char>(len >> 16);
        prefix[2] = static_cast<unsigned char>(len >> 8);
        prefix[3] = static_cast<unsigned char>(len);
        ok = sha.Reset() && sha.Update(prefix, 8) && sha.Update(header.data(), header.size());
        if (ok && !o.is_symlink && !(S_ISREG(o.mode))) ok = false;  // let the caller describe it
        if (ok && !o.is_symlink) {
          ok = reader.ReadPayload(&o, &err, [&](const char* p, size_t len2) { return sha.Update(p, len2); });
        }
      }
      std::string hex = ok ? sha.FinishHex() : std::string();
      if (!ok || hex.size() != 64) {
        status_[i] = st == LoadStatus::kMissing ? 1 : 2;
        sums_.append(64, '0');
      } else {
        sums_ += hex;
      }
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    size_t n = status_.size();
    Napi::Uint8Array status = Napi::Uint8Array::New(env, n);
    Napi::Uint32Array modes = Napi::Uint32Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      status[i] = status_[i];
      modes[i] = modes_[i];
    }
    o.Set("checksums", Napi::String::New(env, sums_));
    o.Set("status", status);
    o.Set("modes", modes);
    return o;
  }

 private:
  std::string repo_;
  RepoMode mode_;
  bool disable_xattrs_;
  std::string csums_;
  std::vector<uint8_t> status_;
  std::vector<uint32_t> modes_;
  std::string sums_;
};

// ---------------------------------------------------------------- objects_unlink_batch

class UnlinkWorker : public PromiseWorker {
 public:
  UnlinkWorker(Napi::Env env, std::string repo, std::vector<std::string> rels, bool dry_run)
      : PromiseWorker(env, "ostree:objects_unlink_batch"),
        repo_(std::move(repo)),
        rels_(std::move(rels)),
        dry_run_(dry_run) {}

  void Execute() override {
    std::string objects = repo_ + "/objects";
    Fd dir(open(objects.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.ok()) {
      error_.Set(errno, "open", objects);
      return;
    }
    sizes_.reserve(rels_.size());
    for (const std::string& rel : rels_) {
      struct stat st;
      if (fstatat(dir.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        error_.Set(errno, "lstat", objects + "/" + rel);
        return;
      }
      if (!dry_run_) CrashPoint();
      if (!dry_run_ && unlinkat(dir.get(), rel.c_str(), 0) < 0) {
        error_.Set(errno, "unlink", objects + "/" + rel);
        return;
      }
      sizes_.push_back(static_cast<double>(st.st_size));
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Float64Array a = Napi::Float64Array::New(env, sizes_.size());
    for (size_t i = 0; i < sizes_.size(); i++) a[i] = sizes_[i];
    return a;
  }

 private:
  std::string repo_;
  std::vector<std::string> rels_;
  bool dry_run_;
  std::vector<double> sizes_;
};

}  // namespace

// metadata_read_batch(repos, rels, opts: {sha256?}): Promise<{data, store, sha256?}>
Napi::Value MetadataReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> repos, rels;
  if (!StringArray(env, info[0], "repos", true, &repos) || !RelArray(env, info[1], &rels)) {
    return env.Undefined();
  }
  Napi::Value opts, v;
  bool sha = false;
  if (!args::Options(env, info[2], "opts", &opts) || !args::Prop(env, opts, "sha256", &v) ||
      !args::Bool(env, v, "opts.sha256", false, &sha)) {
    return env.Undefined();
  }
  bool dirtree = false;
  if (!args::Prop(env, opts, "dirtree", &v) || !args::Bool(env, v, "opts.dirtree", false, &dirtree)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new MetaReadWorker(env, std::move(repos), std::move(rels), sha, dirtree));
}

// content_verify_batch(repo, mode, csums, opts: {disableXattrs?}): Promise<{checksums, status, modes}>
Napi::Value ContentVerifyBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string repo, mode, csums;
  RepoMode m;
  if (!args::Path(env, info[0], "repo", &repo) || !args::String(env, info[1], "mode", &mode)) {
    return env.Undefined();
  }
  if (!ParseRepoMode(mode, &m)) {
    ThrowType(env, "Invalid repository mode '" + mode + "'");
    return env.Undefined();
  }
  if (!args::String(env, info[2], "csums", &csums)) return env.Undefined();
  if (csums.size() % 64 != 0) {
    ThrowType(env, "csums must hold 64 hex characters per object");
    return env.Undefined();
  }
  for (char c : csums) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      ThrowType(env, "csums must be lowercase hex");
      return env.Undefined();
    }
  }
  Napi::Value opts, v;
  bool dx = false;
  if (!args::Options(env, info[3], "opts", &opts) || !args::Prop(env, opts, "disableXattrs", &v) ||
      !args::Bool(env, v, "opts.disableXattrs", false, &dx)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new VerifyWorker(env, std::move(repo), m, dx, std::move(csums)));
}

// objects_unlink_batch(repo, rels, opts: {dryRun?}): Promise<Float64Array of sizes>
Napi::Value ObjectsUnlinkBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string repo;
  std::vector<std::string> rels;
  if (!args::Path(env, info[0], "repo", &repo) || !RelArray(env, info[1], &rels)) return env.Undefined();
  Napi::Value opts, v;
  bool dry = false;
  if (!args::Options(env, info[2], "opts", &opts) || !args::Prop(env, opts, "dryRun", &v) ||
      !args::Bool(env, v, "opts.dryRun", false, &dry)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new UnlinkWorker(env, std::move(repo), std::move(rels), dry));
}

}  // namespace ostree
