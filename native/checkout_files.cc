// checkout_files.cc: see checkout_files.h. The per-file rules are those of
// FORMATS.md §6.1/§6.2/§6.5 (mirroring ostree-repo-checkout.c); the code is
// our own. Destination names are always handled relative to an O_PATH fd of
// their directory, with *at calls that never follow the last component.
#include "checkout_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "crash_point.h"
#include "fsutil.h"
#include "objread.h"
#include "store.h"
#include "worker.h"
#include "xattr.h"

namespace ostree {

namespace {

enum class Overwrite { kError, kReplace, kSkip };

struct Options {
  std::vector<std::pair<std::string, RepoMode>> stores;
  std::vector<bool> disable_xattrs;
  bool user_mode = false;
  bool hardlink = false;        // bare objects may be hardlinked (repo/checkout mode match)
  std::string cache;            // archive -U: the uncompressed-objects cache ("" = none)
  std::string cache_tmp;        // temp dir on the cache's filesystem
  bool cache_fsync = false;     // fsync each file written into the cache (core.fsync, as ostree)
  bool require_hardlinks = false;
  Overwrite overwrite = Overwrite::kError;
  bool fsync = false;
};

enum FailKind { kNone = 0, kMissing = 1, kCorrupt = 2, kRequireHardlinks = 3 };

class CheckoutFilesWorker : public PromiseWorker {
 public:
  CheckoutFilesWorker(Napi::Env env, std::shared_ptr<const CheckoutFileList> list, size_t begin, size_t end,
                      Options opts)
      : PromiseWorker(env, "ostree:checkout_files"), list_(std::move(list)), begin_(begin), end_(end), o_(std::move(opts)) {}

  void Execute() override {
    stores_.resize(o_.stores.size());
    for (size_t i = 0; i < stores_.size(); i++) {
      stores_[i].path = o_.stores[i].first;
      stores_[i].mode = o_.stores[i].second;
      stores_[i].disable_xattrs = o_.disable_xattrs[i];
      if (!stores_[i].Open(&error_)) return;
    }
    if (!o_.cache.empty()) {
      cache_.reset(new ObjectStore(o_.cache, o_.cache_tmp, o_.cache_fsync));
      if (!cache_->Open(&error_)) return;
    }
    reader_.reset(new ObjectReader(&stores_, !o_.user_mode, /*lazy_open=*/true));
    uint32_t cur = UINT32_MAX;
    Fd dirfd;
    const CheckoutFileList& l = *list_;
    for (size_t i = begin_; i < end_; i++) {
      if (l.file_dir[i] != cur) {
        cur = l.file_dir[i];
        const std::string& d = l.dirs[cur];
        dirfd.Reset(open(d.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dirfd.ok()) {
          error_.Set(errno, "open", d);
          return;
        }
      }
      if (!One(i, dirfd.get(), l.dirs[cur])) return;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("linked", Napi::Number::New(env, static_cast<double>(linked_)));
    o.Set("copied", Napi::Number::New(env, static_cast<double>(copied_)));
    o.Set("skipped", Napi::Number::New(env, static_cast<double>(skipped_)));
    if (fail_kind_ != kNone) {
      Napi::Object f = Napi::Object::New(env);
      const CheckoutFileList& l = *list_;
      f.Set("index", Napi::Number::New(env, static_cast<double>(fail_index_ - begin_)));
      f.Set("dest", Napi::String::New(env, l.dirs[l.file_dir[fail_index_]] + "/" + l.name(fail_index_)));
      f.Set("checksum", Napi::String::New(env, l.csums.data() + 64 * fail_index_, 64));
      f.Set("kind", Napi::String::New(env, fail_kind_ == kMissing   ? "missing"
                                           : fail_kind_ == kCorrupt ? "corrupt"
                                                                    : "require-hardlinks"));
      f.Set("error", MakeFsError(env, obj_error_));
      o.Set("failure", f);
    }
    return o;
  }

 private:
  bool Fail(size_t i, FailKind k) {
    fail_index_ = i;
    fail_kind_ = k;
    return false;
  }

  bool One(size_t i, int dfd, const std::string& dir) {
    const std::string name(list_->name(i));
    std::string dest = dir + "/" + name;
    cur_index_hint_ = i;
    CrashPoint();
    // Archive -U with a cache: an entry there is this object's content,
    // already given its mode, and is linked as it is (as ostree links any
    // entry it finds). When the object is in an archive store, the entry is
    // tried first, which saves opening the object for its header; a miss (no
    // entry, a symlink, an existing destination...) takes the full path below.
    if (cache_ && InArchiveStore(list_->csums.data() + 64 * i) &&
        linkat(cache_->objfd(), CacheRel(list_->csums.data() + 64 * i).c_str(), dfd, name.c_str(), 0) == 0) {
      linked_++;
      return true;
    }
    ContentObject o;
    LoadStatus st = reader_->Load(list_->csums.data() + 64 * i, &o, &obj_error_);
    if (st == LoadStatus::kMissing) return Fail(i, kMissing);
    if (st == LoadStatus::kError) return Fail(i, kCorrupt);
    if (o.is_symlink) return Symlink(o, dfd, name, dest);
    const ObjectDir& s = stores_[o.store];
    bool owner_readable = (o.mode & 0400) != 0;
    if (o_.hardlink && s.mode != RepoMode::kArchive && o.size > 0 &&
        (owner_readable || !o_.user_mode)) {
      return Link(s.objfd.get(), o.rel, s.Full(o.rel), dfd, name, dest);
    }
    if (cache_ && s.mode == RepoMode::kArchive && o.size > 0 && owner_readable) {
      return CacheLink(o, list_->csums.data() + 64 * i, dfd, name, dest);
    }
    if (o_.require_hardlinks && o.size > 0) {
      obj_error_.Set(EPERM, "link", s.Full(o.rel), dest);
      return Fail(i, kRequireHardlinks);
    }
    uint32_t mode = o.mode & 07777;
    if (o_.user_mode) mode = (mode & ~06000u) | 0400;
    bool placed = false;
    if (!CopyOut(&o, dfd, name, dest, mode, "copyfile", s.Full(o.rel), &placed, &error_)) {
      return false;
    }
    if (placed) copied_++;
    return true;
  }

  // dest exists and is not to be replaced: skip, or fail.
  bool Existing(const char* syscall, const std::string& src, const std::string& dest) {
    if (o_.overwrite == Overwrite::kSkip) {
      skipped_++;
      return true;
    }
    return error_.Set(EEXIST, syscall, src, dest);
  }

  static std::string TempName() {
    std::string n = TempPathIn("");
    n.erase(0, 1);  // "/.ostree-tmp-…" → ".ostree-tmp-…"
    return n;
  }

  bool Link(int sfd, const std::string& srel, const std::string& sfull, int dfd,
            const std::string& name, const std::string& dest) {
    if (linkat(sfd, srel.c_str(), dfd, name.c_str(), 0) == 0) {
      linked_++;
      return true;
    }
    int e = errno;
    if (e == EEXIST) {
      if (o_.overwrite != Overwrite::kReplace) return Existing("link", sfull, dest);
      std::string tmp;
      for (int attempt = 0;; attempt++) {
        tmp = TempName();
        if (linkat(sfd, srel.c_str(), dfd, tmp.c_str(), 0) == 0) break;
        e = errno;
        if (e == EEXIST && attempt < 100) continue;
        if ((e == EXDEV || e == EMLINK || e == EPERM) && !o_.require_hardlinks) {
          return CopyFallback(sfd, srel, sfull, dfd, name, dest);
        }
        return error_.Set(e, "link", sfull, dest);
      }
      if (renameat(dfd, tmp.c_str(), dfd, name.c_str()) < 0) {
        e = errno;
        unlinkat(dfd, tmp.c_str(), 0);
        return error_.Set(e, "rename", dir_of(dest) + "/" + tmp, dest);
      }
      // rename() is a no-op when both names are links to the same inode.
      unlinkat(dfd, tmp.c_str(), 0);
      linked_++;
      return true;
    }
    if ((e == EXDEV || e == EMLINK || e == EPERM) && !o_.require_hardlinks) {
      return CopyFallback(sfd, srel, sfull, dfd, name, dest);
    }
    return error_.Set(e, "link", sfull, dest);
  }

  static std::string dir_of(const std::string& p) { return Dirname(p); }

  // The link could not be made: copy the source file keeping its permissions.
  bool CopyFallback(int sfd, const std::string& srel, const std::string& sfull, int dfd,
                    const std::string& name, const std::string& dest) {
    ContentObject src;
    int fd = openat(sfd, srel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return error_.Set(errno, "open", sfull);
    src.fd.Reset(fd);
    struct stat st;
    if (fstat(fd, &st) < 0) return error_.Set(errno, "fstat", sfull);
    bool placed = false;
    if (!CopyFd(fd, nullptr, dfd, name, dest, st.st_mode & 07777, false, "link", sfull, &placed)) {
      return false;
    }
    if (placed) copied_++;
    return true;
  }

  // Whether the first store that has the object is an archive one (a
  // missing object is left to the full path, which reports it).
  bool InArchiveStore(const char* csum) {
    for (const ObjectDir& s : stores_) {
      if (!s.objfd.ok()) continue;
      struct stat st;
      if (fstatat(s.objfd.get(), s.Rel(csum).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return s.mode == RepoMode::kArchive;
      }
    }
    return false;
  }

  // "XX/rest.file": the object's name in uncompressed-objects-cache.
  static std::string CacheRel(const char* csum) {
    std::string rel;
    rel.reserve(70);
    rel.append(csum, 2);
    rel.push_back('/');
    rel.append(csum + 2, 62);
    rel += ".file";
    return rel;
  }

  // Archive, -U: hardlink from uncompressed-objects-cache/XX/rest.file,
  // decompressing into the cache first when it isn't there.
  bool CacheLink(ContentObject& o, const char* csum, int dfd, const std::string& name,
                 const std::string& dest) {
    // One() has tried to link the entry already.
    std::string rel = CacheRel(csum);
    std::string full = cache_->ObjPath(rel);
    struct stat st;
    if (fstatat(cache_->objfd(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT) return error_.Set(errno, "lstat", full);
      ObjectStore::Tmp t;
      if (!cache_->CreateTmp(&t, &error_)) return false;
      int out = t.fd.get();
      const ObjectDir& s = stores_[o.store];
      SysError perr;
      bool ok = reader_->ReadPayload(&o, &perr, [&](const char* p, size_t n) {
        return WriteAll(out, p, n, full, &error_);
      });
      if (!ok) {
        cache_->Discard(&t);
        if (perr.failed()) {
          // The object itself is unreadable: reported as corrupt.
          obj_error_ = perr;
          fail_kind_ = kCorrupt;
          fail_index_ = cur_index_hint_;
        }
        return false;
      }
      (void)s;
      if (fchmod(out, o.mode & 07777 & ~06000u) < 0) {
        error_.Set(errno, "fchmod", full);
        cache_->Discard(&t);
        return false;
      }
      bool existed = false;
      if (!cache_->Commit(&t, rel, &existed, &error_)) {
        cache_->Discard(&t);
        return false;
      }
      if (existed) cache_->Discard(&t);
    }
    return Link(cache_->objfd(), rel, full, dfd, name, dest);
  }

  // Creates dest (or a temp name to rename over it with 'replace') and fills
  // it from the object's payload.
  bool CopyOut(ContentObject* o, int dfd, const std::string& name, const std::string& dest,
               uint32_t mode, const char* syscall, const std::string& src, bool* placed,
               SysError* err) {
    return CopyFd(-1, o, dfd, name, dest, mode, !o_.user_mode, syscall, src, placed);
  }

  // Source: `src_fd` (copied from its offset) or, when o != nullptr, the
  // object's payload. `owner`: apply uid/gid/xattrs from `o`.
  bool CopyFd(int src_fd, ContentObject* o, int dfd, const std::string& name,
              const std::string& dest, uint32_t mode, bool owner, const char* syscall,
              const std::string& src, bool* placed) {
    *placed = false;
    bool replace = o_.overwrite == Overwrite::kReplace;
    std::string created;
    int fd = -1;
    if (!replace) {
      fd = openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
      if (fd < 0) {
        if (errno == EEXIST) return Existing(syscall, src, dest);
        return error_.Set(errno, "open", dest);
      }
      created = name;
    } else {
      for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        created = TempName();
        fd = openat(dfd, created.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno != EEXIST) return error_.Set(errno, "open", Dirname(dest) + "/" + created);
      }
      if (fd < 0) return error_.Set(EEXIST, "open", Dirname(dest) + "/" + created);
    }
    Fd out(fd);
    std::string where = replace ? Dirname(dest) + "/" + created : dest;
    bool ok;
    if (o) {
      SysError perr;
      ok = reader_->ReadPayload(o, &perr, [&](const char* p, size_t n) {
        return WriteAll(out.get(), p, n, where, &error_);
      });
      if (!ok && perr.failed()) {
        if (stores_[o->store].mode == RepoMode::kArchive && perr.syscall == "inflate") {
          obj_error_ = perr;
          fail_kind_ = kCorrupt;
          fail_index_ = cur_index_hint_;
        } else {
          error_ = perr;
        }
      }
    } else {
      ok = CopyFdContents(src_fd, out.get(), src, where, &error_);
    }
    if (ok && owner && o &&
        fchown(out.get(), static_cast<uid_t>(o->uid), static_cast<gid_t>(o->gid)) < 0) {
      ok = error_.Set(errno, "fchown", where);
    }
    if (ok && owner && o && !o->xattrs.empty()) ok = WriteXattrs(where, out.get(), o->xattrs, &error_);
    if (ok && fchmod(out.get(), mode) < 0) ok = error_.Set(errno, "fchmod", where);
    if (ok && o_.fsync && fsync(out.get()) < 0) ok = error_.Set(errno, "fsync", where);
    if (ok) ok = out.Close(where, &error_);
    if (!ok) {
      out.Reset();
      unlinkat(dfd, created.c_str(), 0);
      return false;
    }
    if (replace && renameat(dfd, created.c_str(), dfd, name.c_str()) < 0) {
      int e = errno;
      unlinkat(dfd, created.c_str(), 0);
      return error_.Set(e, "rename", where, dest);
    }
    *placed = true;
    return true;
  }

  bool Symlink(const ContentObject& o, int dfd, const std::string& name, const std::string& dest) {
    bool meta = !o_.user_mode;
    if (o_.overwrite == Overwrite::kReplace) {
      std::string tmp;
      for (int attempt = 0;; attempt++) {
        tmp = TempName();
        if (symlinkat(o.target.c_str(), dfd, tmp.c_str()) == 0) break;
        if (errno != EEXIST || attempt > 100) {
          return error_.Set(errno, "symlink", o.target, Dirname(dest) + "/" + tmp);
        }
      }
      std::string where = Dirname(dest) + "/" + tmp;
      if (meta && !SymlinkMeta(o, dfd, tmp, where)) {
        unlinkat(dfd, tmp.c_str(), 0);
        return false;
      }
      if (renameat(dfd, tmp.c_str(), dfd, name.c_str()) < 0) {
        int e = errno;
        unlinkat(dfd, tmp.c_str(), 0);
        return error_.Set(e, "rename", where, dest);
      }
      return true;
    }
    if (symlinkat(o.target.c_str(), dfd, name.c_str()) < 0) {
      if (errno == EEXIST) return Existing("symlink", o.target, dest);
      return error_.Set(errno, "symlink", o.target, dest);
    }
    if (meta && !SymlinkMeta(o, dfd, name, dest)) {
      unlinkat(dfd, name.c_str(), 0);
      return false;
    }
    return true;
  }

  bool SymlinkMeta(const ContentObject& o, int dfd, const std::string& name, const std::string& full) {
    if (fchownat(dfd, name.c_str(), static_cast<uid_t>(o.uid), static_cast<gid_t>(o.gid),
                 AT_SYMLINK_NOFOLLOW) < 0) {
      return error_.Set(errno, "lchown", full);
    }
    if (!o.xattrs.empty() && !WriteXattrs(full, -1, o.xattrs, &error_)) return false;
    return true;
  }

  std::shared_ptr<const CheckoutFileList> list_;
  size_t begin_, end_;
  Options o_;
  std::vector<ObjectDir> stores_;
  std::unique_ptr<ObjectStore> cache_;
  std::unique_ptr<ObjectReader> reader_;
  SysError obj_error_;
  FailKind fail_kind_ = kNone;
  size_t fail_index_ = 0;
  size_t cur_index_hint_ = 0;
  uint64_t linked_ = 0;
  uint64_t copied_ = 0;
  uint64_t skipped_ = 0;
};

// The array form of a job: {dirs, fileDir, names, csums}.
bool FileListArg(Napi::Env env, Napi::Value job, CheckoutFileList* out) {
  Napi::Value v;
  std::vector<std::string>& dirs = out->dirs;
  std::vector<std::string> names;
  std::vector<uint32_t> file_dir;
  std::string csums;
  if (!args::Prop(env, job, "dirs", &v)) return false;
  if (!v.IsArray()) {
    ThrowType(env, "job.dirs must be an array");
    return false;
  }
  {
    Napi::Array a = v.As<Napi::Array>();
    dirs.resize(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) {
      if (!args::Path(env, a.Get(i), "job.dirs", &dirs[i])) return false;
    }
  }
  if (!args::Prop(env, job, "names", &v)) return false;
  if (!v.IsArray()) {
    ThrowType(env, "job.names must be an array");
    return false;
  }
  {
    Napi::Array a = v.As<Napi::Array>();
    names.resize(a.Length());
    for (uint32_t i = 0; i < a.Length(); i++) {
      if (!args::String(env, a.Get(i), "job.names", &names[i])) return false;
      const std::string& n = names[i];
      if (n.empty() || n == "." || n == ".." || n.find('/') != std::string::npos ||
          n.find('\0') != std::string::npos) {
        ThrowType(env, "Invalid file name in job.names");
        return false;
      }
    }
  }
  if (!args::Prop(env, job, "fileDir", &v)) return false;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowType(env, "job.fileDir must be a Uint32Array");
    return false;
  }
  {
    Napi::Uint32Array a = v.As<Napi::Uint32Array>();
    if (a.ElementLength() != names.size()) {
      ThrowType(env, "job.fileDir and job.names differ in length");
      return false;
    }
    file_dir.resize(a.ElementLength());
    for (size_t i = 0; i < file_dir.size(); i++) {
      file_dir[i] = a[i];
      if (file_dir[i] >= dirs.size()) {
        ThrowType(env, "job.fileDir index out of range");
        return false;
      }
    }
  }
  if (!args::Prop(env, job, "csums", &v) || !args::String(env, v, "job.csums", &csums)) {
    return false;
  }
  if (csums.size() != 64 * names.size()) {
    ThrowType(env, "job.csums must hold 64 hex characters per file");
    return false;
  }
  for (char c : csums) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      ThrowType(env, "job.csums must be lowercase hex");
      return false;
    }
  }
  for (size_t i = 0; i < names.size(); i++) out->Add(file_dir[i], names[i], csums.data() + 64 * i);
  return true;
}

}  // namespace

namespace {

// Distinguishes our file-list externals from any other object passed in.
const napi_type_tag kFileListTag = {0x6f73747265666c69ull, 0x73742d68616e646cull};

// What a JS file-list handle holds: the list (null once freed) and what it
// holds outside the JS heap, as told to the GC.
struct FileListRef {
  std::shared_ptr<const CheckoutFileList> list;
  int64_t bytes = 0;

  void Release(Napi::Env env) {
    list.reset();
    if (bytes) Napi::MemoryManagement::AdjustExternalMemory(env, -bytes);
    bytes = 0;
  }
};

FileListRef* FileListArgRef(Napi::Env env, Napi::Value v, const char* what) {
  if (!v.IsExternal() || !v.As<Napi::External<FileListRef>>().CheckTypeTag(&kFileListTag)) {
    ThrowType(env, std::string(what) + " must be a file list from checkout_plan_next");
    return nullptr;
  }
  return v.As<Napi::External<FileListRef>>().Data();
}

}  // namespace

Napi::Value WrapFileList(Napi::Env env, std::shared_ptr<const CheckoutFileList> list) {
  auto* ref = new FileListRef;
  ref->bytes = static_cast<int64_t>(list->csums.size() + list->names.size() + 8 * list->size());
  for (const std::string& d : list->dirs) ref->bytes += static_cast<int64_t>(d.size() + 32);
  ref->list = std::move(list);
  Napi::External<FileListRef> ext = Napi::External<FileListRef>::New(env, ref, [](Napi::Env e, FileListRef* r) {
    r->Release(e);
    delete r;
  });
  if (env.IsExceptionPending()) return env.Undefined();
  ext.TypeTag(&kFileListTag);
  Napi::MemoryManagement::AdjustExternalMemory(env, ref->bytes);
  return ext;
}

bool UnwrapFileList(Napi::Env env, Napi::Value v, std::shared_ptr<const CheckoutFileList>* out) {
  FileListRef* ref = FileListArgRef(env, v, "job.list");
  if (!ref) return false;
  if (!ref->list) return ThrowType(env, "job.list was freed");
  *out = ref->list;
  return true;
}

// checkout_list_free(list): drops the list now (jobs still running keep it
// until they end) rather than whenever the GC gets to its handle.
Napi::Value CheckoutListFree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  FileListRef* ref = FileListArgRef(env, info[0], "The \"list\" argument");
  if (!ref) return env.Undefined();
  ref->Release(env);
  return env.Undefined();
}

// checkout_files(job: {dirs, fileDir, names, csums} | {list, start, end}, opts):
//   Promise<{linked, copied, skipped, failure?: {index, kind, error, dest, checksum}}>
Napi::Value CheckoutFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value job = info[0];
  Napi::Value v;
  if (!job.IsObject()) {
    ThrowType(env, "The \"job\" argument must be an object");
    return env.Undefined();
  }
  std::shared_ptr<const CheckoutFileList> list;
  size_t begin = 0, end = 0;
  if (!args::Prop(env, job, "list", &v)) return env.Undefined();
  if (!v.IsUndefined()) {
    // A file list made natively (checkout_plan_next), and a range of it.
    if (!UnwrapFileList(env, v, &list)) return env.Undefined();
    int64_t s = -1, e = -1;
    Napi::Value sv, ev;
    if (!args::Prop(env, job, "start", &sv) || !args::Uint32(env, sv, "job.start", false, &s) ||
        !args::Prop(env, job, "end", &ev) || !args::Uint32(env, ev, "job.end", false, &e)) {
      return env.Undefined();
    }
    if (s > e || static_cast<size_t>(e) > list->size()) {
      ThrowType(env, "job.start and job.end must be a range of the file list");
      return env.Undefined();
    }
    begin = static_cast<size_t>(s);
    end = static_cast<size_t>(e);
  } else {
    std::shared_ptr<CheckoutFileList> l = std::make_shared<CheckoutFileList>();
    if (!FileListArg(env, job, l.get())) return env.Undefined();
    end = l->size();
    list = std::move(l);
  }

  Options o;
  Napi::Value opts;
  if (!args::Options(env, info[1], "opts", &opts) || !args::Prop(env, opts, "stores", &v)) {
    return env.Undefined();
  }
  if (!v.IsArray() || v.As<Napi::Array>().Length() == 0) {
    ThrowType(env, "opts.stores must be a non-empty array of [path, mode, disableXattrs]");
    return env.Undefined();
  }
  {
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value e = a.Get(i);
      if (!e.IsArray() || e.As<Napi::Array>().Length() != 3) {
        ThrowType(env, "Each store must be [path, mode, disableXattrs]");
        return env.Undefined();
      }
      Napi::Array t = e.As<Napi::Array>();
      std::string path, mode;
      bool dx = false;
      RepoMode m;
      if (!args::Path(env, t.Get(0u), "store path", &path) ||
          !args::String(env, t.Get(1u), "store mode", &mode) ||
          !args::Bool(env, t.Get(2u), "store disableXattrs", false, &dx)) {
        return env.Undefined();
      }
      if (!ParseRepoMode(mode, &m)) {
        ThrowType(env, "Invalid store mode '" + mode + "'");
        return env.Undefined();
      }
      o.stores.emplace_back(path, m);
      o.disable_xattrs.push_back(dx);
    }
  }
  if (!args::Prop(env, opts, "userMode", &v) || !args::Bool(env, v, "opts.userMode", false, &o.user_mode) ||
      !args::Prop(env, opts, "hardlink", &v) || !args::Bool(env, v, "opts.hardlink", false, &o.hardlink) ||
      !args::Prop(env, opts, "requireHardlinks", &v) ||
      !args::Bool(env, v, "opts.requireHardlinks", false, &o.require_hardlinks) ||
      !args::Prop(env, opts, "fsync", &v) || !args::Bool(env, v, "opts.fsync", false, &o.fsync) ||
      !args::Prop(env, opts, "cache", &v)) {
    return env.Undefined();
  }
  if (!v.IsUndefined() && !v.IsNull()) {
    if (!args::Path(env, v, "opts.cache", &o.cache) || !args::Prop(env, opts, "cacheTmp", &v) ||
        !args::Path(env, v, "opts.cacheTmp", &o.cache_tmp) || !args::Prop(env, opts, "cacheFsync", &v) ||
        !args::Bool(env, v, "opts.cacheFsync", false, &o.cache_fsync)) {
      return env.Undefined();
    }
  }
  if (!args::Prop(env, opts, "overwrite", &v)) return env.Undefined();
  if (!v.IsUndefined() && !v.IsNull()) {
    std::string mode;
    if (!args::String(env, v, "opts.overwrite", &mode)) return env.Undefined();
    if (mode == "error") o.overwrite = Overwrite::kError;
    else if (mode == "replace") o.overwrite = Overwrite::kReplace;
    else if (mode == "skip") o.overwrite = Overwrite::kSkip;
    else {
      ThrowType(env, "opts.overwrite must be 'error', 'replace' or 'skip'");
      return env.Undefined();
    }
  }
  return PromiseWorker::Start(new CheckoutFilesWorker(env, std::move(list), begin, end, std::move(o)));
}

}  // namespace ostree
