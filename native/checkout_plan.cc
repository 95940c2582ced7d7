// checkout_plan.cc: see checkout_plan.h. The dirtree layout is FORMATS.md
// §5.2: (a(say)a(sayay)), read here in normal form only (anything else makes
// the plan give up, and the caller's generic decoder has the last word).
#include "checkout_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <array>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "args.h"
#include "checkout_files.h"
#include "gvariant.h"
#include "fsutil.h"
#include "sha256.h"
#include "worker.h"

namespace ostree {

namespace {

bool Unhex(const std::string& hex, std::string* raw) {
  if (hex.size() != 64) return false;
  raw->resize(32);
  for (int i = 0; i < 32; i++) {
    int v = 0;
    for (int j = 0; j < 2; j++) {
      char c = hex[2 * i + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    (*raw)[i] = static_cast<char>(v);
  }
  return true;
}

// Opens <repo>/objects of each repo of the chain (a repo without one is
// skipped: its slot stays closed).
bool OpenStores(const std::vector<std::string>& repos, std::vector<Fd>* stores, SysError* error) {
  stores->resize(repos.size());
  for (size_t i = 0; i < repos.size(); i++) {
    std::string p = repos[i] + "/objects";
    (*stores)[i].Reset(open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!(*stores)[i].ok() && errno != ENOENT) return error->Set(errno, "open", p);
  }
  return true;
}

// Reads and parses the dirtree with this raw checksum (32 bytes) from the
// first store that has it; false when it is missing, unreadable or not
// accepted by ParseDirTree.
bool ReadDirTree(const std::vector<Fd>& stores, const char* raw, DirTreeEntries* out) {
  std::string hex;
  AppendChecksumHex(raw, &hex);
  std::string rel = hex.substr(0, 2) + "/" + hex.substr(2) + ".dirtree";
  std::string data;
  bool found = false;
  for (const Fd& s : stores) {
    if (!s.ok()) continue;
    int fd = openat(s.get(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      return false;
    }
    Fd f(fd);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
    if (!ReadToEnd(fd, static_cast<size_t>(st.st_size), &data)) return false;
    found = true;
    break;
  }
  return found && ParseDirTree(data, out);
}

class ReachWorker : public PromiseWorker {
 public:
  ReachWorker(Napi::Env env, std::vector<std::string> repos, std::string roots)
      : PromiseWorker(env, "ostree:tree_reachable"), repos_(std::move(repos)), root_tree_(std::move(roots)) {}

  void Execute() override {
    if (!OpenStores(repos_, &stores_, &error_)) return;
    ok_ = Reach();
  }

  Napi::Value Resolve(Napi::Env env) override {
    if (!ok_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    Napi::Uint8Array types = Napi::Uint8Array::New(env, meta_types_.size());
    if (!meta_types_.empty()) memcpy(types.Data(), meta_types_.data(), meta_types_.size());
    o.Set("metaTypes", types);
    o.Set("metaCsums", TakeBuffer(env, &meta_csums_));
    o.Set("metaEnds", Uint32s(env, meta_ends_));
    o.Set("content", TakeBuffer(env, &content_));
    o.Set("contentEnds", Uint32s(env, content_ends_));
    return o;
  }

 private:
  // A Buffer holding *bytes (moved out, not copied when the runtime allows).
  static Napi::Value TakeBuffer(Napi::Env env, std::string* bytes) {
    std::string* owned = new std::string(std::move(*bytes));
    owned->shrink_to_fit();
    if (owned->empty()) {
      delete owned;
      return Napi::Buffer<char>::New(env, 0);
    }
    return Napi::Buffer<char>::NewOrCopy(env, &(*owned)[0], owned->size(),
                                         [](Napi::Env, char*, std::string* o) { delete o; }, owned);
  }

  static Napi::Value Uint32s(Napi::Env env, const std::vector<uint32_t>& v) {
    Napi::Uint32Array a = Napi::Uint32Array::New(env, v.size());
    for (size_t i = 0; i < v.size(); i++) a[i] = v[i];
    return a;
  }

  bool Read(const char* raw, DirTreeEntries* out) { return ReadDirTree(stores_, raw, out); }

  // --- Reach: the set of objects emitted so far is an open-addressing table
  // of references into the outputs (content_ / meta_*), so each object costs
  // its 32 output bytes (+1 type byte for metadata) and about 8 table bytes.
  // Slot value: 0 = empty, else index + 1, with kContentBit for content_.
  static constexpr uint32_t kContentBit = 0x80000000u;

  // Seeded, so that checksums listed in a crafted dirtree can't be chosen to
  // pile up in one bucket.
  uint64_t Hash(const char* raw, uint8_t type) const {
    uint64_t h = seed_ ^ type;
    for (int i = 0; i < 4; i++) {
      uint64_t w;
      memcpy(&w, raw + 8 * i, 8);
      h = (h ^ w) * 0x9e3779b97f4a7c15ull;
      h ^= h >> 32;
    }
    return h;
  }

  const char* RefCsum(uint32_t e) const {
    uint32_t i = (e & ~kContentBit) - 1;
    return e & kContentBit ? content_.data() + 32 * size_t{i} : meta_csums_.data() + 32 * size_t{i};
  }

  uint8_t RefType(uint32_t e) const { return e & kContentBit ? kFile : meta_types_[(e & ~kContentBit) - 1]; }

  void Grow() {
    std::vector<uint32_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    size_t mask = slots_.size() - 1;
    for (uint32_t e : old) {
      if (!e) continue;
      size_t p = Hash(RefCsum(e), RefType(e)) & mask;
      while (slots_[p]) p = (p + 1) & mask;
      slots_[p] = e;
    }
  }

  // Appends the object to the outputs unless it was emitted before; true if new.
  bool Emit(const char* raw, uint8_t type) {
    size_t mask = slots_.size() - 1;
    size_t p = Hash(raw, type) & mask;
    for (uint32_t e; (e = slots_[p]) != 0; p = (p + 1) & mask) {
      if (RefType(e) == type && memcmp(RefCsum(e), raw, 32) == 0) return false;
    }
    uint32_t e;
    if (type == kFile) {
      e = static_cast<uint32_t>(content_.size() / 32 + 1) | kContentBit;
      content_.append(raw, 32);
    } else {
      e = static_cast<uint32_t>(meta_types_.size() + 1);
      meta_types_.push_back(type);
      meta_csums_.append(raw, 32);
    }
    slots_[p] = e;
    if (++used_ * 2 > slots_.size()) Grow();
    return true;
  }

  // Per root (root_tree_: 64 raw bytes each, the tree then its dirmeta): the
  // root dirmeta, then the objects under the root dirtree in the order of a
  // depth-first walk with an explicit stack (subdirectories taken last
  // first): each dirtree, then its files, then its subdirectories' dirmetas.
  // Each object once over all roots (a dirtree reached from an earlier root
  // is not walked again). Dirtrees are read, used and dropped: none is read
  // twice, so nothing is cached.
  bool Reach() {
    std::random_device rd;
    seed_ = (uint64_t{rd()} << 32) ^ rd();
    slots_.assign(size_t{1} << 16, 0);
    for (size_t r = 0; r + 64 <= root_tree_.size(); r += 64) {
      Emit(root_tree_.data() + r + 32, kDirMeta);
      std::vector<std::array<char, 32>> stack(1);
      memcpy(stack[0].data(), root_tree_.data() + r, 32);
      DirTreeEntries t;
      while (!stack.empty()) {
        std::array<char, 32> tree = stack.back();
        stack.pop_back();
        if (!Emit(tree.data(), kDirTree)) continue;
        t.files.clear();
        t.dirs.clear();
        if (!Read(tree.data(), &t)) return false;
        for (const DirTreeEntries::File& f : t.files) Emit(f.csum.data(), kFile);
        for (const DirTreeEntries::Dir& d : t.dirs) {
          Emit(d.meta.data(), kDirMeta);
          stack.emplace_back();
          memcpy(stack.back().data(), d.tree.data(), 32);
        }
        // Indices must fit below kContentBit.
        if (used_ >= kContentBit - 1) return false;
      }
      meta_ends_.push_back(static_cast<uint32_t>(meta_types_.size()));
      content_ends_.push_back(static_cast<uint32_t>(content_.size() / 32));
    }
    return true;
  }

  // ObjectType numbers (FORMATS.md §2).
  static constexpr uint8_t kFile = 1, kDirTree = 2, kDirMeta = 3;

  std::vector<std::string> repos_;
  std::string root_tree_;
  std::vector<Fd> stores_;
  bool ok_ = false;
  // Reach outputs (raw checksums, 32 bytes each) and its table of them.
  std::vector<uint8_t> meta_types_;
  std::string meta_csums_, content_;
  std::vector<uint32_t> meta_ends_, content_ends_;
  std::vector<uint32_t> slots_;
  size_t used_ = 0;
  uint64_t seed_ = 0;
};

}  // namespace

namespace {

// The repo chain argument: a non-empty array of paths (the repo, then its parents).
bool ReposArg(Napi::Env env, Napi::Value v, std::vector<std::string>* repos) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() == 0) {
    ThrowType(env, "The \"repos\" argument must be a non-empty array of paths");
    return false;
  }
  Napi::Array a = v.As<Napi::Array>();
  repos->resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!args::Path(env, a.Get(i), "repos", &(*repos)[i])) return false;
  }
  return true;
}

}  // namespace

namespace {

// --- The checkout cursor ----------------------------------------------------

// Parsed dirtrees kept for reuse (identical subtrees are common), counted in
// entries; the cache is emptied when it grows past this.
constexpr size_t kCacheEntries = 8192;

// One checkout's walk: an explicit depth-first stack of the directories
// entered and not finished yet. Shared by the JS handle and the worker of the
// step in progress (one at a time: `busy`).
struct PlanCursor {
  std::vector<std::string> repos;
  std::string root_tree, root_meta;  // 32 raw bytes each
  std::string base;                  // the checkout root

  struct Frame {
    std::shared_ptr<const DirTreeEntries> tree;
    size_t next_file = 0, next_dir = 0;
    uint32_t index = 0;  // pre-order number of the directory
    std::string path;
  };
  std::vector<Fd> stores;
  bool opened = false;
  bool started = false;  // the root was entered
  std::vector<Frame> stack;
  uint32_t entered = 0;
  std::unordered_map<std::string, std::shared_ptr<const DirTreeEntries>> cache;
  size_t cached = 0;
  bool busy = false;  // main thread only
};
using CursorRef = std::shared_ptr<PlanCursor>;

const napi_type_tag kCursorTag = {0x6f73747265706c61ull, 0x6e2d637572736f72ull};

class PlanNextWorker : public PromiseWorker {
 public:
  PlanNextWorker(Napi::Env env, CursorRef cursor, size_t max, bool supplied, std::string data)
      : PromiseWorker(env, "ostree:checkout_plan_next"),
        c_(std::move(cursor)),
        max_(max),
        supplied_(supplied),
        data_(std::move(data)) {
    c_->busy = true;
  }

  ~PlanNextWorker() override { c_->busy = false; }

  void Execute() override {
    PlanCursor& c = *c_;
    if (!c.opened) {
      if (!OpenStores(c.repos, &c.stores, &error_)) return;
      c.opened = true;
    }
    list_ = std::make_shared<CheckoutFileList>();
    first_ = c.entered;
    size_t used = 0;
    uint32_t list_dir = UINT32_MAX;  // the frame whose path ends list_->dirs
    for (;;) {
      if (!c.started) {
        if (!Enter(c.root_tree.data(), c.root_meta.data(), c.base)) return;
        c.started = true;
        used++;
        continue;
      }
      if (c.stack.empty()) {
        // Over: the object stores and the cache aren't needed any more.
        done_ = true;
        c.stores.clear();
        c.cache.clear();
        c.cached = 0;
        return;
      }
      PlanCursor::Frame& f = c.stack.back();
      const DirTreeEntries& t = *f.tree;
      if (f.next_file < t.files.size()) {
        if (used >= max_) return;
        const DirTreeEntries::File& e = t.files[f.next_file++];
        if (list_dir != f.index) {
          list_->dirs.push_back(f.path);
          list_dir = f.index;
        }
        char hex[64];
        ChecksumHexTo(e.csum.data(), hex);
        list_->Add(static_cast<uint32_t>(list_->dirs.size() - 1), e.name, hex);
        used++;
        continue;
      }
      if (f.next_dir < t.dirs.size()) {
        if (used >= max_) return;
        const DirTreeEntries::Dir& d = t.dirs[f.next_dir];
        std::string p = f.path == "/" ? "/" + d.name : f.path + "/" + d.name;
        size_t parent = c.stack.size() - 1;
        if (!Enter(d.tree.data(), d.meta.data(), std::move(p))) return;
        c.stack[parent].next_dir++;
        used++;
        continue;
      }
      // Every file and subdirectory emitted: finished (post-order).
      finished_.push_back(f.index);
      c.stack.pop_back();
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    size_t n = dirs_.size();
    Napi::Array dirs = Napi::Array::New(env, n);
    Napi::Uint32Array depth = Napi::Uint32Array::New(env, n);
    for (size_t i = 0; i < n; i++) {
      dirs.Set(static_cast<uint32_t>(i), Napi::String::New(env, dirs_[i]));
      depth[i] = depth_[i];
    }
    Napi::Uint32Array finished = Napi::Uint32Array::New(env, finished_.size());
    if (!finished_.empty()) memcpy(finished.Data(), finished_.data(), 4 * finished_.size());
    o.Set("first", Napi::Number::New(env, first_));
    o.Set("dirs", dirs);
    o.Set("depth", depth);
    o.Set("metas", Napi::String::New(env, metas_));
    o.Set("finished", finished);
    size_t nfiles = list_ ? list_->size() : 0;
    o.Set("nfiles", Napi::Number::New(env, static_cast<double>(nfiles)));
    if (nfiles) {
      o.Set("files", WrapFileList(env, std::move(list_)));
    } else {
      o.Set("files", env.Null());
    }
    if (!need_.empty()) {
      o.Set("need", Napi::String::New(env, need_));
      if (rejected_) o.Set("rejected", Napi::Boolean::New(env, true));
    }
    o.Set("done", Napi::Boolean::New(env, done_));
    return o;
  }

 private:
  // Parsed dirtree `raw` (cached), or null when it can't be read or parsed.
  std::shared_ptr<const DirTreeEntries> Load(const char* raw) {
    PlanCursor& c = *c_;
    std::string key(raw, 32);
    auto it = c.cache.find(key);
    if (it != c.cache.end()) return it->second;
    std::shared_ptr<DirTreeEntries> t = std::make_shared<DirTreeEntries>();
    if (supplied_) {
      // The caller's normal-form copy of the dirtree it was told about.
      supplied_ = false;
      if (!ParseDirTree(data_, t.get())) {
        rejected_ = true;
        return nullptr;
      }
    } else if (!ReadDirTree(c.stores, raw, t.get())) {
      return nullptr;
    }
    size_t size = 1 + t->files.size() + t->dirs.size();
    if (c.cached + size > kCacheEntries) {
      c.cache.clear();
      c.cached = 0;
    }
    c.cached += size;
    c.cache.emplace(std::move(key), t);
    return t;
  }

  // Enters a directory (its dirtree is read now); false, with need_ set, when
  // the dirtree can't be taken: the cursor stays just before it.
  bool Enter(const char* tree, const char* meta, std::string path) {
    PlanCursor& c = *c_;
    std::shared_ptr<const DirTreeEntries> t = Load(tree);
    if (!t) {
      AppendChecksumHex(tree, &need_);
      return false;
    }
    dirs_.push_back(path);
    depth_.push_back(static_cast<uint32_t>(c.stack.size()));
    AppendChecksumHex(meta, &metas_);
    c.stack.emplace_back();
    PlanCursor::Frame& f = c.stack.back();
    f.tree = std::move(t);
    f.index = c.entered++;
    f.path = std::move(path);
    return true;
  }

  CursorRef c_;
  size_t max_;
  bool supplied_;
  std::string data_;
  uint32_t first_ = 0;
  std::vector<std::string> dirs_;
  std::vector<uint32_t> depth_;
  std::string metas_;
  std::vector<uint32_t> finished_;
  std::shared_ptr<CheckoutFileList> list_;
  std::string need_;
  bool rejected_ = false;
  bool done_ = false;
};

bool Hex64Arg(Napi::Env env, Napi::Value v, const char* what, std::string* raw) {
  std::string hex;
  if (!args::String(env, v, what, &hex)) return false;
  if (!Unhex(hex, raw)) return ThrowType(env, std::string(what) + " must be 64 lowercase hex characters");
  return true;
}

}  // namespace

// checkout_plan_open(repos: string[], rootTree: hex, rootMeta: hex, base: path): cursor
Napi::Value CheckoutPlanOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CursorRef c = std::make_shared<PlanCursor>();
  if (!ReposArg(env, info[0], &c->repos) || !Hex64Arg(env, info[1], "rootTree", &c->root_tree) ||
      !Hex64Arg(env, info[2], "rootMeta", &c->root_meta) || !args::Path(env, info[3], "base", &c->base)) {
    return env.Undefined();
  }
  auto* ref = new CursorRef(std::move(c));
  Napi::External<CursorRef> ext = Napi::External<CursorRef>::New(env, ref, [](Napi::Env, CursorRef* r) { delete r; });
  if (env.IsExceptionPending()) return env.Undefined();
  ext.TypeTag(&kCursorTag);
  return ext;
}

// checkout_plan_next(cursor, maxEntries: number, dirtree?: Buffer): Promise<PlanChunk>
Napi::Value CheckoutPlanNext(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<CursorRef>>().CheckTypeTag(&kCursorTag)) {
    ThrowType(env, "The \"cursor\" argument must be a checkout_plan_open cursor");
    return env.Undefined();
  }
  CursorRef c = *v.As<Napi::External<CursorRef>>().Data();
  if (c->busy) {
    ThrowType(env, "checkout_plan_next is already running on this cursor");
    return env.Undefined();
  }
  int64_t max = -1;
  if (!args::Uint32(env, info[1], "maxEntries", false, &max)) return env.Undefined();
  if (max < 1) {
    ThrowType(env, "maxEntries must be at least 1");
    return env.Undefined();
  }
  bool supplied = !info[2].IsUndefined() && !info[2].IsNull();
  std::string data;
  if (supplied && !args::Bytes(env, info[2], "dirtree", &data)) return env.Undefined();
  return PromiseWorker::Start(new PlanNextWorker(env, std::move(c), static_cast<size_t>(max), supplied, std::move(data)));
}

// tree_reachable(repos: string[], roots: hex, 128 per root (tree, dirmeta)):
//   Promise<{metaTypes, metaCsums, metaEnds, content, contentEnds} | null>
Napi::Value TreeReachable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> repos;
  if (!ReposArg(env, info[0], &repos)) return env.Undefined();
  std::string hex, trees, one;
  if (!args::String(env, info[1], "roots", &hex)) return env.Undefined();
  if (hex.empty() || hex.size() % 128 != 0) {
    ThrowType(env, "roots must be one or more pairs of checksums of 64 lowercase hex characters");
    return env.Undefined();
  }
  for (size_t i = 0; i < hex.size(); i += 64) {
    if (!Unhex(hex.substr(i, 64), &one)) {
      ThrowType(env, "roots must be one or more pairs of checksums of 64 lowercase hex characters");
      return env.Undefined();
    }
    trees += one;
  }
  return PromiseWorker::Start(new ReachWorker(env, std::move(repos), std::move(trees)));
}

}  // namespace ostree
