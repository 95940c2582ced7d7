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
#include "gvariant.h"
#include "fsutil.h"
#include "worker.h"

namespace ostree {

namespace {

constexpr size_t kMaxDepth = 1024;

void Hex(const char* raw, std::string* out) {
  static const char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    uint8_t b = static_cast<uint8_t>(raw[i]);
    out->push_back(kDigits[b >> 4]);
    out->push_back(kDigits[b & 15]);
  }
}

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

class PlanWorker : public PromiseWorker {
 public:
  PlanWorker(Napi::Env env, std::vector<std::string> repos, std::string root_tree, std::string root_meta,
             bool reach)
      : PromiseWorker(env, reach ? "ostree:tree_reachable" : "ostree:checkout_plan"),
        repos_(std::move(repos)),
        root_tree_(std::move(root_tree)),
        root_meta_(std::move(root_meta)),
        reach_(reach) {}

  void Execute() override {
    stores_.resize(repos_.size());
    for (size_t i = 0; i < repos_.size(); i++) {
      std::string p = repos_[i] + "/objects";
      stores_[i].Reset(open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!stores_[i].ok() && errno != ENOENT) {
        error_.Set(errno, "open", p);
        return;
      }
    }
    ok_ = reach_ ? Reach() : Walk(root_tree_, root_meta_, std::string(), 0);
  }

  Napi::Value Resolve(Napi::Env env) override {
    if (!ok_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    if (reach_) {
      Napi::Uint8Array types = Napi::Uint8Array::New(env, meta_types_.size());
      if (!meta_types_.empty()) memcpy(types.Data(), meta_types_.data(), meta_types_.size());
      o.Set("metaTypes", types);
      o.Set("metaCsums", TakeBuffer(env, &meta_csums_));
      o.Set("metaEnds", Uint32s(env, meta_ends_));
      o.Set("content", TakeBuffer(env, &content_));
      o.Set("contentEnds", Uint32s(env, content_ends_));
      return o;
    }
    Napi::Array dirs = Napi::Array::New(env, dirs_.size());
    Napi::Uint32Array depth = Napi::Uint32Array::New(env, dirs_.size());
    Napi::Uint32Array post = Napi::Uint32Array::New(env, post_.size());
    for (size_t i = 0; i < dirs_.size(); i++) {
      dirs.Set(static_cast<uint32_t>(i), Napi::String::New(env, dirs_[i]));
      depth[i] = depth_[i];
      post[i] = post_[i];
    }
    Napi::Array names = Napi::Array::New(env, names_.size());
    Napi::Uint32Array file_dir = Napi::Uint32Array::New(env, names_.size());
    for (size_t i = 0; i < names_.size(); i++) {
      names.Set(static_cast<uint32_t>(i), Napi::String::New(env, names_[i]));
      file_dir[i] = file_dir_[i];
    }
    o.Set("dirs", dirs);
    o.Set("depth", depth);
    o.Set("metas", Napi::String::New(env, metas_));
    o.Set("post", post);
    o.Set("fileDir", file_dir);
    o.Set("names", names);
    o.Set("csums", Napi::String::New(env, csums_));
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

  // The parsed dirtree (cached: identical subtrees are common), or null.
  const DirTreeEntries* Load(const std::string& raw) {
    auto it = cache_.find(raw);
    if (it != cache_.end()) return it->second.get();
    std::unique_ptr<DirTreeEntries> t(new DirTreeEntries);
    if (!Read(raw.data(), t.get())) return nullptr;
    const DirTreeEntries* p = t.get();
    cache_.emplace(raw, std::move(t));
    return p;
  }

  // Reads and parses the dirtree with this raw checksum (32 bytes).
  bool Read(const char* raw, DirTreeEntries* out) {
    std::string hex;
    Hex(raw, &hex);
    std::string rel = hex.substr(0, 2) + "/" + hex.substr(2) + ".dirtree";
    std::string data;
    bool found = false;
    for (Fd& s : stores_) {
      if (!s.ok()) continue;
      int fd = openat(s.get(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        return false;
      }
      Fd f(fd);
      struct stat st;
      if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return false;
      data.resize(static_cast<size_t>(st.st_size));
      size_t got = 0;
      for (;;) {
        if (got == data.size()) data.resize(data.size() + 4096);
        ssize_t n = read(fd, &data[got], data.size() - got);
        if (n < 0) {
          if (errno == EINTR) continue;
          return false;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      data.resize(got);
      found = true;
      break;
    }
    return found && ParseDirTree(data, out);
  }

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

  bool Walk(const std::string& tree_raw, const std::string& meta_raw, const std::string& rel, uint32_t depth) {
    if (depth > kMaxDepth) return false;
    const DirTreeEntries* t = Load(tree_raw);
    if (!t) return false;
    uint32_t me = static_cast<uint32_t>(dirs_.size());
    dirs_.push_back(rel);
    depth_.push_back(depth);
    Hex(meta_raw.data(), &metas_);
    for (const DirTreeEntries::File& f : t->files) {
      file_dir_.push_back(me);
      names_.push_back(f.name);
      Hex(f.csum.data(), &csums_);
    }
    for (const DirTreeEntries::Dir& d : t->dirs) {
      if (!Walk(d.tree, d.meta, rel.empty() ? d.name : rel + "/" + d.name, depth + 1)) return false;
    }
    post_.push_back(me);
    return true;
  }

  std::vector<std::string> repos_;
  std::string root_tree_, root_meta_;
  std::vector<Fd> stores_;
  std::unordered_map<std::string, std::unique_ptr<DirTreeEntries>> cache_;
  bool reach_;
  bool ok_ = false;
  // Reach outputs (raw checksums, 32 bytes each) and its table of them.
  std::vector<uint8_t> meta_types_;
  std::string meta_csums_, content_;
  std::vector<uint32_t> meta_ends_, content_ends_;
  std::vector<uint32_t> slots_;
  size_t used_ = 0;
  uint64_t seed_ = 0;
  std::vector<std::string> dirs_;
  std::vector<uint32_t> depth_, post_, file_dir_;
  std::string metas_;
  std::vector<std::string> names_;
  std::string csums_;
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

// checkout_plan(repos: string[], rootTree: hex, rootMeta: hex): Promise<Plan | null>
Napi::Value CheckoutPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> repos;
  if (!ReposArg(env, info[0], &repos)) return env.Undefined();
  std::string tree_hex, meta_hex, tree, meta;
  if (!args::String(env, info[1], "rootTree", &tree_hex) || !args::String(env, info[2], "rootMeta", &meta_hex)) {
    return env.Undefined();
  }
  if (!Unhex(tree_hex, &tree) || !Unhex(meta_hex, &meta)) {
    ThrowType(env, "rootTree and rootMeta must be 64 lowercase hex characters");
    return env.Undefined();
  }
  return PromiseWorker::Start(new PlanWorker(env, std::move(repos), std::move(tree), std::move(meta), false));
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
  return PromiseWorker::Start(new PlanWorker(env, std::move(repos), std::move(trees), std::string(), true));
}

}  // namespace ostree
