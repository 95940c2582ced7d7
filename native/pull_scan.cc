// pull_scan.cc: see pull_scan.h.
#include "pull_scan.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "errors.h"
#include "fsutil.h"
#include "gvariant.h"
#include "objread.h"
#include "sha256.h"
#include "worker.h"

namespace ostree {

namespace {

struct Store {
  std::string objects;  // REPO/objects
  RepoMode mode;
  Fd fd;
};

struct ScanResult {
  enum Kind { kOk, kMismatch, kInvalid } kind = kInvalid;
  std::string actual;   // kMismatch
  std::string missing;  // 64 hex per content object not stored
  std::string dirs;     // 128 hex per subdirectory
  std::string present;  // a byte per subdirectory
};

class ScanWorker : public PromiseWorker {
 public:
  // `bufs` stay referenced until the worker is freed on the main thread;
  // nothing writes to them meanwhile.
  ScanWorker(Napi::Env env, std::vector<std::pair<std::string, RepoMode>> repos, std::vector<std::string> sums,
             std::vector<Napi::Buffer<char>> bufs)
      : PromiseWorker(env, "ostree:pull_scan_dirtrees"), sums_(std::move(sums)), results_(sums_.size()) {
    for (auto& r : repos) stores_.push_back({r.first + "/objects", r.second, Fd()});
    for (auto& b : bufs) {
      data_.push_back({b.Data(), b.Length()});
      refs_.push_back(Napi::Persistent(static_cast<Napi::Object>(b)));
    }
  }

  void Execute() override {
    for (Store& s : stores_) {
      s.fd.Reset(open(s.objects.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      // A repo without objects/ (yet) simply has nothing.
      if (!s.fd.ok() && errno != ENOENT) {
        error_.Set(errno, "open", s.objects);
        return;
      }
    }
    Sha256 sha;
    if (!sha.ok()) {
      error_.Set(ENOMEM, "sha256", "");
      return;
    }
    for (size_t i = 0; i < sums_.size(); i++) {
      if (!Scan(&sha, i)) return;
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Array a = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); i++) {
      const ScanResult& r = results_[i];
      Napi::Object o = Napi::Object::New(env);
      if (r.kind == ScanResult::kOk) {
        o.Set("missing", Napi::String::New(env, r.missing));
        o.Set("dirs", Napi::String::New(env, r.dirs));
        Napi::Uint8Array p = Napi::Uint8Array::New(env, r.present.size());
        for (size_t k = 0; k < r.present.size(); k++) p[k] = static_cast<uint8_t>(r.present[k]);
        o.Set("present", p);
      } else if (r.kind == ScanResult::kMismatch) {
        o.Set("actual", Napi::String::New(env, r.actual));
      } else {
        o.Set("invalid", Napi::Boolean::New(env, true));
      }
      a.Set(static_cast<uint32_t>(i), o);
    }
    return a;
  }

 private:
  enum Type { kFile, kDirTree, kDirMeta };

  // Whether any repo of the chain stores the object (32 raw checksum bytes).
  bool Stored(const std::string& raw, Type type, bool* found) {
    std::string stem;  // XX/REST
    AppendChecksumHex(raw.data(), &stem);
    stem.insert(2, 1, '/');
    std::string rel;
    for (const Store& s : stores_) {
      if (!s.fd.ok()) continue;
      rel = stem;
      rel += type == kDirTree ? ".dirtree" : type == kDirMeta ? ".dirmeta" : s.mode == RepoMode::kArchive ? ".filez" : ".file";
      struct stat st;
      if (fstatat(s.fd.get(), rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        *found = true;
        return true;
      }
      if (errno != ENOENT) return error_.Set(errno, "lstat", s.objects + "/" + rel);
    }
    *found = false;
    return true;
  }

  bool Scan(Sha256* sha, size_t i) {
    ScanResult& r = results_[i];
    const char* p = data_[i].first;
    size_t n = data_[i].second;
    if (!sha->Reset() || !sha->Update(p, n)) return error_.Set(ENOMEM, "sha256", "");
    std::string actual = sha->FinishHex();
    if (actual != sums_[i]) {
      r.kind = ScanResult::kMismatch;
      r.actual = std::move(actual);
      return true;
    }
    DirTreeEntries t;
    if (!ParseDirTree(std::string(p, n), &t)) {
      r.kind = ScanResult::kInvalid;
      return true;
    }
    r.kind = ScanResult::kOk;
    bool found = false;
    for (const DirTreeEntries::File& f : t.files) {
      if (!Stored(f.csum, kFile, &found)) return false;
      if (!found) AppendChecksumHex(f.csum.data(), &r.missing);
    }
    r.dirs.reserve(128 * t.dirs.size());
    for (const DirTreeEntries::Dir& d : t.dirs) {
      AppendChecksumHex(d.tree.data(), &r.dirs);
      AppendChecksumHex(d.meta.data(), &r.dirs);
      char bits = 0;
      if (!Stored(d.tree, kDirTree, &found)) return false;
      if (found) bits |= 1;
      if (!Stored(d.meta, kDirMeta, &found)) return false;
      if (found) bits |= 2;
      r.present.push_back(bits);
    }
    return true;
  }

  std::vector<Store> stores_;
  std::vector<std::string> sums_;
  std::vector<std::pair<const char*, size_t>> data_;
  std::vector<Napi::Reference<Napi::Object>> refs_;
  std::vector<ScanResult> results_;
};

}  // namespace

Napi::Value PullScanDirtrees(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsArray() || info[0].As<Napi::Array>().Length() == 0 ||
      info[0].As<Napi::Array>().Length() != info[1].As<Napi::Array>().Length()) {
    ThrowType(env, "repos and modes must be arrays of the same (non-zero) length");
    return env.Undefined();
  }
  Napi::Array rs = info[0].As<Napi::Array>();
  Napi::Array ms = info[1].As<Napi::Array>();
  std::vector<std::pair<std::string, RepoMode>> repos;
  for (uint32_t i = 0; i < rs.Length(); i++) {
    std::string path, mode;
    RepoMode m;
    if (!args::Path(env, rs.Get(i), "repos[i]", &path) || !args::String(env, ms.Get(i), "modes[i]", &mode)) {
      return env.Undefined();
    }
    if (!ParseRepoMode(mode, &m)) {
      ThrowType(env, "Invalid repository mode '" + mode + "'");
      return env.Undefined();
    }
    repos.push_back({std::move(path), m});
  }
  std::vector<std::string> sums;
  std::vector<Napi::Buffer<char>> bufs;
  if (!args::ChecksumBuffers(env, info[2], "items", &sums, &bufs)) return env.Undefined();
  return PromiseWorker::Start(new ScanWorker(env, std::move(repos), std::move(sums), std::move(bufs)));
}

}  // namespace ostree
