// digest.cc: see digest.h.
#include "digest.h"

#include <string>
#include <vector>

#include "errors.h"
#include "sha256.h"

namespace ostree {

namespace {
const char* ImplName(Sha256Impl impl) { return impl == Sha256Impl::kShaNi ? "sha-ni" : "portable"; }
}  // namespace

Napi::Value Sha256Digest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) {
    ThrowType(env, "chunks must be an array of Buffers");
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<std::pair<const uint8_t*, size_t>> chunks;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsBuffer()) {
      ThrowType(env, "chunks must be an array of Buffers");
      return env.Undefined();
    }
    Napi::Buffer<uint8_t> b = v.As<Napi::Buffer<uint8_t>>();
    chunks.emplace_back(b.Data(), b.Length());
  }
  double repeat = 1;
  Sha256Impl impl = Sha256Impl::kAuto;
  if (info.Length() > 1 && info[1].IsObject()) {
    Napi::Object opts = info[1].As<Napi::Object>();
    Napi::Value r = opts.Get("repeat");
    if (!r.IsUndefined()) {
      if (!r.IsNumber() || r.As<Napi::Number>().DoubleValue() < 0 ||
          r.As<Napi::Number>().DoubleValue() > 1e9) {
        ThrowType(env, "opts.repeat must be a number in 0..1e9");
        return env.Undefined();
      }
      repeat = r.As<Napi::Number>().DoubleValue();
    }
    Napi::Value m = opts.Get("impl");
    if (!m.IsUndefined()) {
      std::string name = m.IsString() ? m.As<Napi::String>().Utf8Value() : "";
      if (name == "portable") {
        impl = Sha256Impl::kPortable;
      } else if (name == "sha-ni") {
        if (!Sha256HaveShaNi()) {
          Napi::RangeError::New(env, "this CPU has no SHA extensions").ThrowAsJavaScriptException();
          return env.Undefined();
        }
        impl = Sha256Impl::kShaNi;
      } else if (name != "auto") {
        ThrowType(env, "opts.impl must be 'auto', 'portable' or 'sha-ni'");
        return env.Undefined();
      }
    }
  }
  Sha256 sha(impl);
  for (uint64_t n = static_cast<uint64_t>(repeat); n > 0; n--) {
    for (const auto& c : chunks) sha.Update(c.first, c.second);
  }
  return Napi::String::New(env, sha.FinishHex());
}

Napi::Value Sha256Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("selected", ImplName(Sha256Selected()));
  o.Set("shaNi", Napi::Boolean::New(env, Sha256HaveShaNi()));
  return o;
}

}  // namespace ostree
