// checkout_plan.cc: see checkout_plan.h. The dirtree layout is FORMATS.md
// §5.2: (a(say)a(sayay)), read here in normal form only (anything else makes
// the plan give up, and the caller's generic decoder has the last word).
#include "checkout_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
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
      Napi::Uint8Array types = Napi::Uint8Array::New(env, reach_types_.size());
      for (size_t i = 0; i < reach_types_.size(); i++) types[i] = reach_types_[i];
      Napi::Uint32Array ends = Napi::Uint32Array::New(env, reach_ends_.size());
      for (size_t i = 0; i < reach_ends_.size(); i++) ends[i] = reach_ends_[i];
      o.Set("types", types);
      o.Set("csums", Napi::String::New(env, csums_));
      o.Set("ends", ends);
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
  // The parsed dirtree (cached: identical subtrees are common), or null.
  const DirTreeEntries* Load(const std::string& raw) {
    auto it = cache_.find(raw);
    if (it != cache_.end()) return it->second.get();
    std::string hex;
    Hex(raw.data(), &hex);
    std::string rel = hex.substr(0, 2) + "/" + hex.substr(2) + ".dirtree";
    std::string data;
    bool found = false;
    for (Fd& s : stores_) {
      if (!s.ok()) continue;
      int fd = openat(s.get(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
      if (fd < 0) {
        if (errno == ENOENT) continue;
        return nullptr;
      }
      Fd f(fd);
      struct stat st;
      if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) return nullptr;
      data.resize(static_cast<size_t>(st.st_size));
      size_t got = 0;
      for (;;) {
        if (got == data.size()) data.resize(data.size() + 4096);
        ssize_t n = read(fd, &data[got], data.size() - got);
        if (n < 0) {
          if (errno == EINTR) continue;
          return nullptr;
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      data.resize(got);
      found = true;
      break;
    }
    if (!found) return nullptr;
    std::unique_ptr<DirTreeEntries> t(new DirTreeEntries);
    if (!ParseDirTree(data, t.get())) return nullptr;
    const DirTreeEntries* p = t.get();
    cache_.emplace(raw, std::move(t));
    return p;
  }

  // The objects under the root dirtree in the order of a depth-first walk
  // with an explicit stack (subdirectories taken last first): each dirtree,
  // then its files, then its subdirectories' dirmetas; each object once.
  bool Reach() {
    std::unordered_map<std::string, char> seen;  // raw checksum + type byte
    auto emit = [&](const std::string& raw, uint8_t type) {
      std::string k = raw;
      k.push_back(static_cast<char>(type));
      if (!seen.emplace(std::move(k), 1).second) return false;
      reach_types_.push_back(type);
      Hex(raw.data(), &csums_);
      return true;
    };
    // root_tree_: one or more roots (32 raw bytes each), walked in turn; a
    // dirtree reached from an earlier root is not walked again.
    for (size_t r = 0; r + 32 <= root_tree_.size(); r += 32) {
      std::vector<std::string> stack{root_tree_.substr(r, 32)};
      while (!stack.empty()) {
        std::string tree = std::move(stack.back());
        stack.pop_back();
        if (!emit(tree, kDirTree)) continue;
        const DirTreeEntries* t = Load(tree);
        if (!t) return false;
        for (const DirTreeEntries::File& f : t->files) emit(f.csum, kFile);
        for (const DirTreeEntries::Dir& d : t->dirs) {
          emit(d.meta, kDirMeta);
          stack.push_back(d.tree);
        }
      }
      reach_ends_.push_back(static_cast<uint32_t>(reach_types_.size()));
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
  std::vector<uint8_t> reach_types_;
  std::vector<uint32_t> reach_ends_;
  std::vector<std::string> dirs_;
  std::vector<uint32_t> depth_, post_, file_dir_;
  std::string metas_;
  std::vector<std::string> names_;
  std::string csums_;
};

}  // namespace

// checkout_plan(repos: string[], rootTree: hex, rootMeta: hex): Promise<Plan | null>
Napi::Value CheckoutPlan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0) {
    ThrowType(env, "The \"repos\" argument must be a non-empty array of paths");
    return env.Undefined();
  }
  std::vector<std::string> repos;
  Napi::Array a = info[0].As<Napi::Array>();
  repos.resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!args::Path(env, a.Get(i), "repos", &repos[i])) return env.Undefined();
  }
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

// tree_reachable(repos: string[], rootTrees: hex, 64 per root): Promise<{types, csums, ends} | null>
Napi::Value TreeReachable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || info[0].As<Napi::Array>().Length() == 0) {
    ThrowType(env, "The \"repos\" argument must be a non-empty array of paths");
    return env.Undefined();
  }
  std::vector<std::string> repos;
  Napi::Array a = info[0].As<Napi::Array>();
  repos.resize(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) {
    if (!args::Path(env, a.Get(i), "repos", &repos[i])) return env.Undefined();
  }
  std::string hex, trees, one;
  if (!args::String(env, info[1], "rootTrees", &hex)) return env.Undefined();
  if (hex.empty() || hex.size() % 64 != 0) {
    ThrowType(env, "rootTrees must be one or more checksums of 64 lowercase hex characters");
    return env.Undefined();
  }
  for (size_t i = 0; i < hex.size(); i += 64) {
    if (!Unhex(hex.substr(i, 64), &one)) {
      ThrowType(env, "rootTrees must be one or more checksums of 64 lowercase hex characters");
      return env.Undefined();
    }
    trees += one;
  }
  return PromiseWorker::Start(new PlanWorker(env, std::move(repos), std::move(trees), std::string(), true));
}

}  // namespace ostree
