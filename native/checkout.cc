// checkout.cc: see checkout.h. Destination paths are never followed: the last
// component is always handled with l*/O_NOFOLLOW/link/rename calls, and a
// non-directory in the way of a mkdir is an error (so a symlink there is
// never descended into).
#include "checkout.h"

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

enum class Overwrite { kError, kReplace, kSkip };

struct Op {
  enum Kind { kMkdir, kLink, kCopy, kSymlink, kDirmeta } kind = kMkdir;
  std::string path;  // mkdir/dirmeta target, or src for link/copy
  std::string dest;  // link/copy/symlink destination
  std::string target;  // symlink target
  uint32_t mode = 0;
  int64_t uid = -1;
  int64_t gid = -1;
  bool has_xattrs = false;
  XattrList xattrs;
  bool mtime_zero = false;
  bool keep_times = false;  // copy: the source's atime and mtime (glnx_file_copy_at)
};

struct Options {
  bool copy_fallback = true;
  Overwrite overwrite = Overwrite::kError;
  bool fsync = false;
};

class CheckoutWorker : public PromiseWorker {
 public:
  CheckoutWorker(Napi::Env env, std::vector<Op> ops, Options opts)
      : PromiseWorker(env, "ostree:checkout_batch"),
        ops_(std::move(ops)),
        opts_(opts) {}

  void Execute() override {
    for (const Op& op : ops_) {
      bool ok = false;
      switch (op.kind) {
        case Op::kMkdir: ok = Mkdir(op); break;
        case Op::kLink: ok = Link(op); break;
        case Op::kCopy: ok = Copy(op); break;
        case Op::kSymlink: ok = Symlink(op); break;
        case Op::kDirmeta: ok = Dirmeta(op); break;
      }
      if (!ok) return;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("linked", Napi::Number::New(env, static_cast<double>(linked_)));
    o.Set("copied", Napi::Number::New(env, static_cast<double>(copied_)));
    o.Set("skipped", Napi::Number::New(env, static_cast<double>(skipped_)));
    return o;
  }

 private:
  bool Mkdir(const Op& op) {
    // Created private; the final mode comes with the later dirmeta op.
    if (mkdir(op.path.c_str(), 0700) == 0) return true;
    int e = errno;
    if (e != EEXIST || opts_.overwrite == Overwrite::kError) {
      return error_.Set(e, "mkdir", op.path);
    }
    struct stat st;
    if (lstat(op.path.c_str(), &st) < 0) return error_.Set(errno, "lstat", op.path);
    if (!S_ISDIR(st.st_mode)) {
      return error_.Set(EEXIST, "mkdir", op.path, "",
                        "file already exists and is not a directory");
    }
    return true;
  }

  // dest exists (EEXIST from `syscall`): apply the overwrite mode for the
  // error/skip cases. Returns false with error_ set for 'error'.
  bool Existing(const char* syscall, const std::string& src,
                const std::string& dest) {
    if (opts_.overwrite == Overwrite::kSkip) {
      skipped_++;
      return true;
    }
    return error_.Set(EEXIST, syscall, src, dest);
  }

  // Moves the staged temp `tmp` to `dest` by the overwrite rules.
  // *placed = false when it was skipped. tmp is gone afterwards either way.
  bool Place(const std::string& tmp, const std::string& dest,
             const char* syscall, const std::string& src, bool* placed) {
    *placed = false;
    if (opts_.overwrite == Overwrite::kReplace) {
      if (rename(tmp.c_str(), dest.c_str()) < 0) {
        int e = errno;
        UnlinkQuiet(tmp);
        return error_.Set(e, "rename", tmp, dest);
      }
      *placed = true;
      return true;
    }
    bool existed = false;
    if (!RenameNoReplace(tmp, dest, &existed, &error_)) {
      UnlinkQuiet(tmp);
      return false;
    }
    if (existed) {
      UnlinkQuiet(tmp);
      return Existing(syscall, src, dest);
    }
    *placed = true;
    return true;
  }

  // Skips the work up front when dest exists and would not be replaced.
  // Returns true and sets *handled if so (error_ set for 'error' mode).
  bool PrecheckExisting(const char* syscall, const std::string& src,
                        const std::string& dest, bool* handled) {
    *handled = false;
    if (opts_.overwrite == Overwrite::kReplace) return true;
    struct stat st;
    if (lstat(dest.c_str(), &st) < 0) return true;
    *handled = true;
    return Existing(syscall, src, dest);
  }

  bool Link(const Op& op) {
    if (linkat(AT_FDCWD, op.path.c_str(), AT_FDCWD, op.dest.c_str(), 0) == 0) {
      linked_++;
      return true;
    }
    int e = errno;
    if (e == EEXIST) {
      if (opts_.overwrite != Overwrite::kReplace) {
        return Existing("link", op.path, op.dest);
      }
      return LinkReplace(op);
    }
    if ((e == EXDEV || e == EMLINK || e == EPERM) && opts_.copy_fallback) {
      return CopyFallback(op);
    }
    return error_.Set(e, "link", op.path, op.dest);
  }

  // Hardlink to a temp name next to dest, then rename over it.
  bool LinkReplace(const Op& op) {
    std::string dir = Dirname(op.dest);
    std::string tmp;
    for (int attempt = 0;; attempt++) {
      tmp = TempPathIn(dir);
      if (linkat(AT_FDCWD, op.path.c_str(), AT_FDCWD, tmp.c_str(), 0) == 0) break;
      int e = errno;
      if (e == EEXIST && attempt < 100) continue;
      if ((e == EXDEV || e == EMLINK || e == EPERM) && opts_.copy_fallback) {
        return CopyFallback(op);
      }
      return error_.Set(e, "link", op.path, op.dest);
    }
    if (rename(tmp.c_str(), op.dest.c_str()) < 0) {
      int e = errno;
      UnlinkQuiet(tmp);
      return error_.Set(e, "rename", tmp, op.dest);
    }
    // rename() is a no-op when both names are links to the same inode, which
    // leaves tmp behind.
    UnlinkQuiet(tmp);
    linked_++;
    return true;
  }

  // The link could not be made: copy src (keeping its mode; symlinks are
  // recreated).
  bool CopyFallback(const Op& op) {
    struct stat st;
    if (lstat(op.path.c_str(), &st) < 0) return error_.Set(errno, "lstat", op.path);
    bool placed = false;
    if (S_ISLNK(st.st_mode)) {
      std::string target;
      if (!ReadLink(op.path, &target, &error_)) return false;
      std::string tmp;
      if (!CreateTempSymlink(Dirname(op.dest), target, &tmp, &error_)) return false;
      if (!Place(tmp, op.dest, "link", op.path, &placed)) return false;
    } else {
      if (!CopyToTemp(op.path, op.dest, st.st_mode & 07777, -1, -1, nullptr,
                      "link", &placed)) {
        return false;
      }
    }
    if (placed) copied_++;
    return true;
  }

  bool Copy(const Op& op) {
    bool handled = false;
    if (!PrecheckExisting("copyfile", op.path, op.dest, &handled)) return false;
    if (handled) return true;
    bool placed = false;
    if (!CopyToTemp(op.path, op.dest, op.mode & 07777, op.uid, op.gid,
                    op.has_xattrs ? &op.xattrs : nullptr, "copyfile", &placed,
                    op.keep_times)) {
      return false;
    }
    if (placed) copied_++;
    return true;
  }

  bool CopyToTemp(const std::string& src, const std::string& dest,
                  uint32_t mode, int64_t uid, int64_t gid,
                  const XattrList* xattrs, const char* syscall, bool* placed,
                  bool keep_times = false) {
    Fd in(open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!in.ok()) return error_.Set(errno, "open", src);
    Fd out;
    std::string tmp;
    if (!CreateTempFile(Dirname(dest), &out, &tmp, &error_)) return false;
    // Times as they were before reading (reading may move atime).
    struct stat src_st;
    bool ok = !keep_times || fstat(in.get(), &src_st) == 0 || error_.Set(errno, "fstat", src);
    if (ok) ok = CopyFdContents(in.get(), out.get(), src, tmp, &error_);
    if (ok && keep_times) {
      struct timespec ts[2] = {src_st.st_atim, src_st.st_mtim};
      if (futimens(out.get(), ts) < 0) ok = error_.Set(errno, "futimens", tmp);
    }
    if (ok && (uid >= 0 || gid >= 0) &&
        fchown(out.get(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0) {
      ok = error_.Set(errno, "fchown", tmp);
    }
    if (ok && xattrs) ok = WriteXattrs(tmp, out.get(), *xattrs, &error_);
    if (ok && fchmod(out.get(), mode) < 0) ok = error_.Set(errno, "fchmod", tmp);
    if (ok && opts_.fsync && fsync(out.get()) < 0) {
      ok = error_.Set(errno, "fsync", tmp);
    }
    if (ok) ok = out.Close(tmp, &error_);
    if (!ok) {
      UnlinkQuiet(tmp);
      return false;
    }
    return Place(tmp, dest, syscall, src, placed);
  }

  bool Symlink(const Op& op) {
    bool has_owner = op.uid >= 0 || op.gid >= 0;
    if (opts_.overwrite == Overwrite::kReplace) {
      std::string tmp;
      if (!CreateTempSymlink(Dirname(op.dest), op.target, &tmp, &error_)) return false;
      if (!SymlinkMeta(op, tmp)) {
        UnlinkQuiet(tmp);
        return false;
      }
      bool placed;
      return Place(tmp, op.dest, "symlink", op.target, &placed);
    }
    if (symlink(op.target.c_str(), op.dest.c_str()) < 0) {
      if (errno == EEXIST) return Existing("symlink", op.target, op.dest);
      return error_.Set(errno, "symlink", op.target, op.dest);
    }
    if ((has_owner || op.has_xattrs) && !SymlinkMeta(op, op.dest)) {
      UnlinkQuiet(op.dest);
      return false;
    }
    return true;
  }

  bool SymlinkMeta(const Op& op, const std::string& path) {
    if ((op.uid >= 0 || op.gid >= 0) &&
        lchown(path.c_str(), static_cast<uid_t>(op.uid),
               static_cast<gid_t>(op.gid)) < 0) {
      return error_.Set(errno, "lchown", path);
    }
    if (op.has_xattrs && !WriteXattrs(path, -1, op.xattrs, &error_)) return false;
    return true;
  }

  bool Dirmeta(const Op& op) {
    Fd fd(open(op.path.c_str(),
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
    if (!fd.ok()) return error_.Set(errno, "open", op.path);
    if ((op.uid >= 0 || op.gid >= 0) &&
        fchown(fd.get(), static_cast<uid_t>(op.uid),
               static_cast<gid_t>(op.gid)) < 0) {
      return error_.Set(errno, "fchown", op.path);
    }
    if (op.has_xattrs && !WriteXattrs(op.path, fd.get(), op.xattrs, &error_)) {
      return false;
    }
    if (fchmod(fd.get(), op.mode & 07777) < 0) {
      return error_.Set(errno, "fchmod", op.path);
    }
    if (op.mtime_zero && !SetMtimeZero(fd.get(), op.path, &error_)) return false;
    return true;
  }

  std::vector<Op> ops_;
  Options opts_;
  uint64_t linked_ = 0;
  uint64_t copied_ = 0;
  uint64_t skipped_ = 0;
};

bool ParseMeta(Napi::Env env, Napi::Value v, Op* op, bool mode_required) {
  Napi::Value p;
  int64_t mode = 0;
  if (!args::Prop(env, v, "mode", &p) ||
      !args::Uint32(env, p, "op.mode", !mode_required, &mode) ||
      !args::Prop(env, v, "uid", &p) ||
      !args::Uint32(env, p, "op.uid", true, &op->uid) ||
      !args::Prop(env, v, "gid", &p) ||
      !args::Uint32(env, p, "op.gid", true, &op->gid) ||
      !args::Prop(env, v, "xattrs", &p) ||
      !args::Xattrs(env, p, "op.xattrs", &op->xattrs, &op->has_xattrs)) {
    return false;
  }
  op->mode = mode < 0 ? 0 : static_cast<uint32_t>(mode);
  return true;
}

bool ParseOp(Napi::Env env, Napi::Value v, Op* op) {
  if (!v.IsObject()) return ThrowType(env, "Each checkout op must be an object");
  Napi::Value p;
  std::string kind;
  if (!args::Prop(env, v, "op", &p) || !args::String(env, p, "op.op", &kind)) {
    return false;
  }
  if (kind == "mkdir") {
    op->kind = Op::kMkdir;
    return args::Prop(env, v, "path", &p) && args::Path(env, p, "op.path", &op->path);
  }
  if (kind == "link" || kind == "copy") {
    op->kind = kind == "link" ? Op::kLink : Op::kCopy;
    if (!args::Prop(env, v, "src", &p) || !args::Path(env, p, "op.src", &op->path) ||
        !args::Prop(env, v, "dest", &p) || !args::Path(env, p, "op.dest", &op->dest)) {
      return false;
    }
    if (op->kind == Op::kLink) return true;
    return ParseMeta(env, v, op, true) && args::Prop(env, v, "keepTimes", &p) &&
           args::Bool(env, p, "op.keepTimes", false, &op->keep_times);
  }
  if (kind == "symlink") {
    op->kind = Op::kSymlink;
    if (!args::Prop(env, v, "target", &p) ||
        !args::String(env, p, "op.target", &op->target) ||
        !args::Prop(env, v, "dest", &p) || !args::Path(env, p, "op.dest", &op->dest)) {
      return false;
    }
    if (op->target.empty()) return ThrowType(env, "op.target must not be empty");
    return ParseMeta(env, v, op, false);
  }
  if (kind == "dirmeta") {
    op->kind = Op::kDirmeta;
    if (!args::Prop(env, v, "path", &p) || !args::Path(env, p, "op.path", &op->path) ||
        !ParseMeta(env, v, op, true) || !args::Prop(env, v, "mtimeZero", &p) ||
        !args::Bool(env, p, "op.mtimeZero", false, &op->mtime_zero)) {
      return false;
    }
    return true;
  }
  return ThrowType(env, "Unknown checkout op '" + kind + "'");
}

}  // namespace

// checkout_batch(ops: CheckoutOp[], opts: CheckoutOptions): Promise<CheckoutResult>
Napi::Value CheckoutBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    ThrowType(env, "The \"ops\" argument must be an array");
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<Op> ops(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (env.IsExceptionPending() || !ParseOp(env, v, &ops[i])) return env.Undefined();
  }

  Options o;
  Napi::Value opts, v;
  if (!args::Options(env, info[1], "opts", &opts) ||
      !args::Prop(env, opts, "copyFallback", &v) ||
      !args::Bool(env, v, "opts.copyFallback", true, &o.copy_fallback) ||
      !args::Prop(env, opts, "fsync", &v) ||
      !args::Bool(env, v, "opts.fsync", false, &o.fsync) ||
      !args::Prop(env, opts, "overwrite", &v)) {
    return env.Undefined();
  }
  if (!v.IsUndefined() && !v.IsNull()) {
    std::string mode;
    if (!args::String(env, v, "opts.overwrite", &mode)) return env.Undefined();
    if (mode == "error") {
      o.overwrite = Overwrite::kError;
    } else if (mode == "replace") {
      o.overwrite = Overwrite::kReplace;
    } else if (mode == "skip") {
      o.overwrite = Overwrite::kSkip;
    } else {
      ThrowType(env, "opts.overwrite must be 'error', 'replace' or 'skip'");
      return env.Undefined();
    }
  }
  return PromiseWorker::Start(new CheckoutWorker(env, std::move(ops), o));
}

}  // namespace ostree
