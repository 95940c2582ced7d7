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
#include "fsutil.h"
#include "worker.h"

namespace ostree {

namespace {

constexpr size_t kMaxDepth = 4096;

size_t Width(size_t total) {
  if (total == 0) return 0;
  if (total <= 0xffu) return 1;
  if (total <= 0xffffu) return 2;
  if (total <= 0xffffffffu) return 4;
  return 8;
}

uint64_t LE(const char* p, size_t w) {
  uint64_t v = 0;
  for (size_t i = 0; i < w; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

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

struct Tree {
  struct File {
    std::string name;
    std::string csum;  // 32 raw bytes
  };
  struct Dir {
    std::string name;
    std::string tree, meta;  // 32 raw bytes each
  };
  std::vector<File> files;
  std::vector<Dir> dirs;
};

// The elements [start, end) of a variable-element array in `d`, as (begin,
// end) pairs; false when the framing is not normal.
bool ArrayElements(const std::string& d, size_t start, size_t end,
                   std::vector<std::pair<size_t, size_t>>* out) {
  out->clear();
  size_t len = end - start;
  if (len == 0) return true;
  size_t w = Width(len);
  uint64_t table = LE(d.data() + end - w, w);
  if (table > len - w || (len - table) % w != 0) return false;
  size_t n = (len - table) / w;
  size_t prev = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t e = LE(d.data() + start + table + i * w, w);
    if (e < prev || e > table) return false;
    out->emplace_back(start + prev, start + e);
    prev = e;
  }
  return prev == table;
}

// A GVariant string at [b, e): NUL-terminated, no NUL inside; a valid
// dirtree entry name (FORMATS.md §11).
bool Name(const std::string& d, size_t b, size_t e, std::string* out) {
  if (e <= b || d[e - 1] != '\0') return false;
  out->assign(d, b, e - 1 - b);
  if (out->empty() || *out == "." || *out == ".." || out->find('/') != std::string::npos ||
      out->find('\0') != std::string::npos) {
    return false;
  }
  return true;
}

bool ParseTree(const std::string& d, Tree* t) {
  const size_t total = d.size();
  if (total == 0) return false;
  size_t w = Width(total);
  if (total < w) return false;
  uint64_t mid = LE(d.data() + total - w, w);
  if (mid > total - w) return false;
  std::vector<std::pair<size_t, size_t>> el;
  if (!ArrayElements(d, 0, mid, &el)) return false;
  t->files.resize(el.size());
  for (size_t i = 0; i < el.size(); i++) {
    auto [b, e] = el[i];
    size_t len = e - b, ew = Width(len);
    if (len < ew + 32 + 2) return false;
    uint64_t s_end = LE(d.data() + e - ew, ew);
    if (s_end + 32 + ew != len) return false;
    if (!Name(d, b, b + s_end, &t->files[i].name)) return false;
    t->files[i].csum.assign(d, b + s_end, 32);
    if (i > 0 && t->files[i - 1].name.compare(t->files[i].name) >= 0) return false;
  }
  if (!ArrayElements(d, mid, total - w, &el)) return false;
  t->dirs.resize(el.size());
  for (size_t i = 0; i < el.size(); i++) {
    auto [b, e] = el[i];
    size_t len = e - b, ew = Width(len);
    if (len < 2 * ew + 64 + 2) return false;
    uint64_t s_end = LE(d.data() + e - ew, ew);
    uint64_t t_end = LE(d.data() + e - 2 * ew, ew);
    if (s_end + 32 != t_end || t_end + 32 + 2 * ew != len) return false;
    Tree::Dir& dir = t->dirs[i];
    if (!Name(d, b, b + s_end, &dir.name)) return false;
    dir.tree.assign(d, b + s_end, 32);
    dir.meta.assign(d, b + t_end, 32);
    if (i > 0 && t->dirs[i - 1].name.compare(dir.name) >= 0) return false;
  }
  // No name both a file and a directory (both lists are sorted).
  size_t fi = 0;
  for (const Tree::Dir& dir : t->dirs) {
    while (fi < t->files.size() && t->files[fi].name.compare(dir.name) < 0) fi++;
    if (fi < t->files.size() && t->files[fi].name == dir.name) return false;
  }
  return true;
}

class PlanWorker : public PromiseWorker {
 public:
  PlanWorker(Napi::Env env, std::vector<std::string> repos, std::string root_tree, std::string root_meta)
      : PromiseWorker(env, "ostree:checkout_plan"),
        repos_(std::move(repos)),
        root_tree_(std::move(root_tree)),
        root_meta_(std::move(root_meta)) {}

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
    ok_ = Walk(root_tree_, root_meta_, std::string(), 0);
  }

  Napi::Value Resolve(Napi::Env env) override {
    if (!ok_) return env.Null();
    Napi::Object o = Napi::Object::New(env);
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
  const Tree* Load(const std::string& raw) {
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
    std::unique_ptr<Tree> t(new Tree);
    if (!ParseTree(data, t.get())) return nullptr;
    const Tree* p = t.get();
    cache_.emplace(raw, std::move(t));
    return p;
  }

  bool Walk(const std::string& tree_raw, const std::string& meta_raw, const std::string& rel, uint32_t depth) {
    if (depth > kMaxDepth) return false;
    const Tree* t = Load(tree_raw);
    if (!t) return false;
    uint32_t me = static_cast<uint32_t>(dirs_.size());
    dirs_.push_back(rel);
    depth_.push_back(depth);
    Hex(meta_raw.data(), &metas_);
    for (const Tree::File& f : t->files) {
      file_dir_.push_back(me);
      names_.push_back(f.name);
      Hex(f.csum.data(), &csums_);
    }
    for (const Tree::Dir& d : t->dirs) {
      if (!Walk(d.tree, d.meta, rel.empty() ? d.name : rel + "/" + d.name, depth + 1)) return false;
    }
    post_.push_back(me);
    return true;
  }

  std::vector<std::string> repos_;
  std::string root_tree_, root_meta_;
  std::vector<Fd> stores_;
  std::unordered_map<std::string, std::unique_ptr<Tree>> cache_;
  bool ok_ = false;
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
  return PromiseWorker::Start(new PlanWorker(env, std::move(repos), std::move(tree), std::move(meta)));
}

}  // namespace ostree
