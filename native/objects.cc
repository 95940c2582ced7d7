// objects.cc: see objects.h.
#include "objects.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "fsutil.h"
#include "worker.h"
#include "xattr.h"

namespace ostree {

namespace {

struct ImportEntry {
  enum Kind { kSrc, kData, kSymlink } kind = kSrc;
  std::string src;
  std::string data;
  std::string symlink_target;
  std::string dest;
  uint32_t mode = 0;
  int64_t uid = -1;
  int64_t gid = -1;
  bool has_xattrs = false;
  XattrList xattrs;
  bool mtime_zero = false;
};

class ImportWorker : public PromiseWorker {
 public:
  ImportWorker(Napi::Env env, std::vector<ImportEntry> entries, bool fsync)
      : PromiseWorker(env, "ostree:objects_import"),
        entries_(std::move(entries)),
        fsync_(fsync) {}

  void Execute() override {
    for (const ImportEntry& e : entries_) {
      std::string tmp;
      bool existed = false;
      if (!Stage(e, &tmp) ||
          !RenameNoReplace(tmp, e.dest, &existed, &error_)) {
        UnlinkQuiet(tmp);
        return;
      }
      if (existed) {
        UnlinkQuiet(tmp);
        existed_++;
      } else {
        written_++;
      }
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("written", Napi::Number::New(env, static_cast<double>(written_)));
    o.Set("existed", Napi::Number::New(env, static_cast<double>(existed_)));
    return o;
  }

 private:
  // Writes the object under a temp name next to dest; *tmp is set as soon
  // as the temp file exists so the caller can always remove it.
  bool Stage(const ImportEntry& e, std::string* tmp) {
    std::string dir = Dirname(e.dest);
    if (!MakeDirs(dir, 0755, &error_)) return false;

    if (e.kind == ImportEntry::kSymlink) {
      if (!CreateTempSymlink(dir, e.symlink_target, tmp, &error_)) return false;
      if ((e.uid >= 0 || e.gid >= 0) &&
          lchown(tmp->c_str(), static_cast<uid_t>(e.uid),
                 static_cast<gid_t>(e.gid)) < 0) {
        return error_.Set(errno, "lchown", *tmp);
      }
      if (e.has_xattrs && !WriteXattrs(*tmp, -1, e.xattrs, &error_)) {
        return false;
      }
      return true;
    }

    Fd out;
    if (!CreateTempFile(dir, &out, tmp, &error_)) return false;
    if (e.kind == ImportEntry::kSrc) {
      Fd in(open(e.src.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
      if (!in.ok()) return error_.Set(errno, "open", e.src);
      if (!CopyFdContents(in.get(), out.get(), e.src, *tmp, &error_)) {
        return false;
      }
    } else if (!WriteAll(out.get(), e.data.data(), e.data.size(), *tmp,
                         &error_)) {
      return false;
    }
    // chown first: it clears suid/sgid bits and file capabilities.
    if ((e.uid >= 0 || e.gid >= 0) &&
        fchown(out.get(), static_cast<uid_t>(e.uid),
               static_cast<gid_t>(e.gid)) < 0) {
      return error_.Set(errno, "fchown", *tmp);
    }
    // xattrs before chmod: a non-root writer may not set user.* xattrs on a
    // file whose final mode lacks owner write (bare-user r/o objects).
    if (e.has_xattrs && !WriteXattrs(*tmp, out.get(), e.xattrs, &error_)) {
      return false;
    }
    if (fchmod(out.get(), e.mode & 07777) < 0) {
      return error_.Set(errno, "fchmod", *tmp);
    }
    if (e.mtime_zero && !SetMtimeZero(out.get(), *tmp, &error_)) return false;
    if (fsync_ && fsync(out.get()) < 0) return error_.Set(errno, "fsync", *tmp);
    return out.Close(*tmp, &error_);
  }

  std::vector<ImportEntry> entries_;
  bool fsync_;
  uint64_t written_ = 0;
  uint64_t existed_ = 0;
};

bool ParseEntry(Napi::Env env, Napi::Value v, ImportEntry* e) {
  if (!v.IsObject()) return ThrowType(env, "Each import entry must be an object");
  Napi::Value p;
  if (!args::Prop(env, v, "dest", &p) || !args::Path(env, p, "entry.dest", &e->dest)) {
    return false;
  }
  Napi::Value src, data, target;
  if (!args::Prop(env, v, "src", &src) || !args::Prop(env, v, "data", &data) ||
      !args::Prop(env, v, "symlinkTarget", &target)) {
    return false;
  }
  auto given = [](const Napi::Value& x) { return !x.IsUndefined() && !x.IsNull(); };
  int sources = given(src) + given(data) + given(target);
  if (sources != 1) {
    return ThrowType(env, "Each import entry needs exactly one of src, data, symlinkTarget");
  }
  if (given(src)) {
    e->kind = ImportEntry::kSrc;
    if (!args::Path(env, src, "entry.src", &e->src)) return false;
  } else if (given(data)) {
    e->kind = ImportEntry::kData;
    if (!args::Bytes(env, data, "entry.data", &e->data)) return false;
  } else {
    e->kind = ImportEntry::kSymlink;
    if (!args::String(env, target, "entry.symlinkTarget", &e->symlink_target)) {
      return false;
    }
    if (e->symlink_target.empty()) {
      return ThrowType(env, "entry.symlinkTarget must not be empty");
    }
  }
  int64_t mode = 0;
  bool mode_optional = e->kind == ImportEntry::kSymlink;
  if (!args::Prop(env, v, "mode", &p) ||
      !args::Uint32(env, p, "entry.mode", mode_optional, &mode)) {
    return false;
  }
  e->mode = mode < 0 ? 0 : static_cast<uint32_t>(mode);
  if (!args::Prop(env, v, "uid", &p) ||
      !args::Uint32(env, p, "entry.uid", true, &e->uid) ||
      !args::Prop(env, v, "gid", &p) ||
      !args::Uint32(env, p, "entry.gid", true, &e->gid) ||
      !args::Prop(env, v, "xattrs", &p) ||
      !args::Xattrs(env, p, "entry.xattrs", &e->xattrs, &e->has_xattrs) ||
      !args::Prop(env, v, "mtimeZero", &p) ||
      !args::Bool(env, p, "entry.mtimeZero", false, &e->mtime_zero)) {
    return false;
  }
  return true;
}

}  // namespace

// objects_import(entries: ImportEntry[], opts: {fsync?}): Promise<ImportResult>
Napi::Value ObjectsImport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowType(env, "The \"entries\" argument must be an array");
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<ImportEntry> entries(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (env.IsExceptionPending() || !ParseEntry(env, v, &entries[i])) {
      return env.Undefined();
    }
  }
  Napi::Value opts, v;
  bool fsync = false;
  if (!args::Options(env, info[1], "opts", &opts) ||
      !args::Prop(env, opts, "fsync", &v) ||
      !args::Bool(env, v, "opts.fsync", false, &fsync)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new ImportWorker(env, std::move(entries), fsync));
}

}  // namespace ostree
