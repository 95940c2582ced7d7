// content_read.cc: see content_read.h.
#include "content_read.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "objread.h"
#include "worker.h"

namespace ostree {

namespace {

// Caller-chosen bounds may not go past these.
constexpr uint64_t kMaxBatchBytes = 1ull << 30;
constexpr uint64_t kMaxObjectSize = 0xffffffffull;

struct ReadOptions {
  std::vector<std::pair<std::string, RepoMode>> stores;
  std::vector<bool> disable_xattrs;
  bool data = false;
  uint64_t max_bytes = 64ull << 20;
  uint64_t max_object = 1ull << 30;
};

class ContentReadWorker : public PromiseWorker {
 public:
  ContentReadWorker(Napi::Env env, ReadOptions o, std::string csums)
      : PromiseWorker(env, "ostree:content_read_batch"), o_(std::move(o)), csums_(std::move(csums)) {}

  void Execute() override {
    std::vector<ObjectDir> stores(o_.stores.size());
    for (size_t i = 0; i < stores.size(); i++) {
      stores[i].path = o_.stores[i].first;
      stores[i].mode = o_.stores[i].second;
      stores[i].disable_xattrs = o_.disable_xattrs[i];
      if (!stores[i].Open(&error_)) return;
    }
    ObjectReader reader(&stores, /*want_xattrs=*/true);
    const size_t n = csums_.size() / 64;
    uid_.reserve(n);
    gid_.reserve(n);
    mode_.reserve(n);
    size_.reserve(n);
    storage_.reserve(n);
    target_.reserve(n);
    xattrs_.reserve(n);
    if (o_.data) {
      ends_.reserve(n);
      data_.reset(new std::vector<char>());
    }
    for (size_t i = 0; i < n; i++) {
      ContentObject obj;
      if (reader.Load(csums_.data() + 64 * i, &obj, &error_) != LoadStatus::kOk) return;
      const ObjectDir& s = stores[obj.store];
      const std::string path = s.Full(obj.rel);
      if (obj.is_symlink) obj.size = 0;  // whatever an archive header says
      if (!obj.is_symlink && !S_ISREG(obj.mode)) {
        error_.Set(EINVAL, "read", path, "", "Corrupted file object; not a regular file or symlink");
        return;
      }
      if (obj.size > o_.max_object) {
        error_.Set(EFBIG, "read", path, "", "File object too large");
        return;
      }
      if (o_.data && i > 0 && data_->size() + obj.size > o_.max_bytes) break;
      struct stat st;
      int r = obj.fd.ok() ? fstat(obj.fd.get(), &st) : fstatat(s.objfd.get(), obj.rel.c_str(), &st, AT_SYMLINK_NOFOLLOW);
      if (r < 0) {
        error_.Set(errno, "fstat", path);
        return;
      }
      if (o_.data && !obj.is_symlink && !ReadData(&reader, &obj, path)) return;
      uid_.push_back(obj.uid);
      gid_.push_back(obj.gid);
      mode_.push_back(obj.mode);
      size_.push_back(static_cast<double>(obj.size));
      storage_.push_back(static_cast<double>(st.st_size));
      target_.push_back(std::move(obj.target));
      xattrs_.push_back(std::move(obj.xattrs));
      if (o_.data) ends_.push_back(static_cast<double>(data_->size()));
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    const size_t n = mode_.size();
    Napi::Object res = Napi::Object::New(env);
    res.Set("count", Napi::Number::New(env, static_cast<double>(n)));
    Napi::Uint32Array uids = Napi::Uint32Array::New(env, n);
    Napi::Uint32Array gids = Napi::Uint32Array::New(env, n);
    Napi::Uint32Array modes = Napi::Uint32Array::New(env, n);
    Napi::Float64Array sizes = Napi::Float64Array::New(env, n);
    Napi::Float64Array storage = Napi::Float64Array::New(env, n);
    Napi::Array targets = Napi::Array::New(env, n);
    Napi::Array xattrs = Napi::Array::New(env, n);
    Napi::String empty = Napi::String::New(env, "");
    for (size_t i = 0; i < n; i++) {
      uids[i] = uid_[i];
      gids[i] = gid_[i];
      modes[i] = mode_[i];
      sizes[i] = size_[i];
      storage[i] = storage_[i];
      const uint32_t k = static_cast<uint32_t>(i);
      targets.Set(k, target_[i].empty() ? empty : Napi::String::New(env, target_[i]));
      if (xattrs_[i].empty()) {
        xattrs.Set(k, env.Null());
        continue;
      }
      Napi::Array list = Napi::Array::New(env, xattrs_[i].size());
      for (size_t j = 0; j < xattrs_[i].size(); j++) {
        Napi::Array pair = Napi::Array::New(env, 2);
        pair.Set(0u, Napi::String::New(env, xattrs_[i][j].name));
        pair.Set(1u, Napi::Buffer<char>::Copy(env, xattrs_[i][j].value.data(), xattrs_[i][j].value.size()));
        list.Set(static_cast<uint32_t>(j), pair);
      }
      xattrs.Set(k, list);
    }
    res.Set("uids", uids);
    res.Set("gids", gids);
    res.Set("modes", modes);
    res.Set("sizes", sizes);
    res.Set("storage", storage);
    res.Set("targets", targets);
    res.Set("xattrs", xattrs);
    if (o_.data) {
      Napi::Float64Array ends = Napi::Float64Array::New(env, n);
      for (size_t i = 0; i < n; i++) ends[i] = ends_[i];
      res.Set("ends", ends);
      // All payloads in one Buffer (copied where the runtime forbids
      // external buffers, as Electron's sandbox does).
      std::vector<char>* v = data_.release();
      res.Set("data", Napi::Buffer<char>::NewOrCopy(env, v->data(), v->size(),
                                                    [](Napi::Env, char*, std::vector<char>* p) { delete p; }, v));
    }
    return res;
  }

 private:
  // Appends the object's payload to data_, exactly obj->size bytes.
  bool ReadData(ObjectReader* reader, ContentObject* obj, const std::string& path) {
    std::vector<char>& out = *data_;
    if (out.capacity() == 0) out.reserve(static_cast<size_t>(std::min<uint64_t>(o_.max_bytes, obj->size)));
    const size_t start = out.size();
    const uint64_t want = obj->size;
    bool ok = reader->ReadPayload(obj, &error_, [&](const char* p, size_t len) {
      if (out.size() - start + len > want) {
        return error_.Set(EINVAL, "read", path, "", "Corrupted file object; size does not match header");
      }
      out.insert(out.end(), p, p + len);
      return true;
    });
    if (!ok) return false;
    if (out.size() - start != want) {
      return error_.Set(EINVAL, "read", path, "", "Corrupted file object; size does not match header");
    }
    return true;
  }

  ReadOptions o_;
  std::string csums_;
  std::vector<uint32_t> uid_, gid_, mode_;
  std::vector<double> size_, storage_, ends_;
  std::vector<std::string> target_;
  std::vector<XattrList> xattrs_;
  std::unique_ptr<std::vector<char>> data_;
};

bool StoresArg(Napi::Env env, Napi::Value v, ReadOptions* o) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() == 0) {
    return ThrowType(env, "The \"stores\" argument must be a non-empty array of [path, mode, disableXattrs]");
  }
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsArray() || e.As<Napi::Array>().Length() != 3) return ThrowType(env, "Each store must be [path, mode, disableXattrs]");
    Napi::Array t = e.As<Napi::Array>();
    std::string path, mode;
    bool dx = false;
    RepoMode m;
    if (!args::Path(env, t.Get(0u), "store path", &path) || !args::String(env, t.Get(1u), "store mode", &mode) ||
        !args::Bool(env, t.Get(2u), "store disableXattrs", false, &dx)) {
      return false;
    }
    if (!ParseRepoMode(mode, &m)) return ThrowType(env, "Invalid store mode '" + mode + "'");
    o->stores.emplace_back(path, m);
    o->disable_xattrs.push_back(dx);
  }
  return true;
}

// A size option: an integer in [1, limit], `dflt` when absent.
bool SizeArg(Napi::Env env, Napi::Value v, const char* what, uint64_t limit, uint64_t* out) {
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsNumber()) return ThrowType(env, std::string("The \"") + what + "\" option must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 1 && d <= static_cast<double>(limit)) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    return ThrowType(env, std::string("The \"") + what + "\" option is out of range");
  }
  *out = static_cast<uint64_t>(d);
  return true;
}

}  // namespace

// content_read_batch(stores, csums, opts: {data?, maxBytes?, maxObjectSize?}): Promise<ContentReadResult>
Napi::Value ContentReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReadOptions o;
  std::string csums;
  if (!StoresArg(env, info[0], &o) || !args::String(env, info[1], "csums", &csums)) return env.Undefined();
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
  if (!args::Options(env, info[2], "opts", &opts) || !args::Prop(env, opts, "data", &v) ||
      !args::Bool(env, v, "opts.data", false, &o.data) || !args::Prop(env, opts, "maxBytes", &v) ||
      !SizeArg(env, v, "maxBytes", kMaxBatchBytes, &o.max_bytes) || !args::Prop(env, opts, "maxObjectSize", &v) ||
      !SizeArg(env, v, "maxObjectSize", kMaxObjectSize, &o.max_object)) {
    return env.Undefined();
  }
  return PromiseWorker::Start(new ContentReadWorker(env, std::move(o), std::move(csums)));
}

}  // namespace ostree
