// args.cc: see args.h.
#include "args.h"

#include <cmath>
#include <cstring>

namespace ostree {
namespace args {

static bool Fail(Napi::Env env, const char* what, const char* expected) {
  return ThrowType(env, std::string("The \"") + what + "\" argument must be " +
                            expected);
}

bool Bytes(Napi::Env env, Napi::Value v, const char* what, std::string* out) {
  if (v.IsTypedArray()) {
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    const char* base = static_cast<const char*>(ab.Data());
    out->assign(base ? base + ta.ByteOffset() : "", ta.ByteLength());
    return true;
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    const char* base = static_cast<const char*>(ab.Data());
    out->assign(base ? base : "", ab.ByteLength());
    return true;
  }
  if (v.IsDataView()) {
    Napi::DataView dv = v.As<Napi::DataView>();
    const char* base = static_cast<const char*>(dv.ArrayBuffer().Data());
    out->assign(base ? base + dv.ByteOffset() : "", dv.ByteLength());
    return true;
  }
  return Fail(env, what, "a Buffer or Uint8Array");
}

bool String(Napi::Env env, Napi::Value v, const char* what, std::string* out) {
  if (!v.IsString()) return Fail(env, what, "a string");
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    return Fail(env, what, "a string without null bytes");
  }
  return true;
}

bool Path(Napi::Env env, Napi::Value v, const char* what, std::string* out) {
  if (v.IsString()) {
    *out = v.As<Napi::String>().Utf8Value();
  } else if (v.IsTypedArray()) {
    if (!Bytes(env, v, what, out)) return false;
  } else {
    return Fail(env, what, "a string or Buffer path");
  }
  if (out->empty() || out->find('\0') != std::string::npos) {
    return Fail(env, what, "a non-empty path without null bytes");
  }
  return true;
}

bool Uint32(Napi::Env env, Napi::Value v, const char* what, bool optional,
            int64_t* out) {
  if (optional && (v.IsUndefined() || v.IsNull())) {
    *out = -1;
    return true;
  }
  if (!v.IsNumber()) return Fail(env, what, "an integer in [0, 2^32)");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || std::floor(d) != d) {
    return Fail(env, what, "an integer in [0, 2^32)");
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool Bool(Napi::Env env, Napi::Value v, const char* what, bool dflt,
          bool* out) {
  if (v.IsUndefined() || v.IsNull()) {
    *out = dflt;
    return true;
  }
  if (!v.IsBoolean()) return Fail(env, what, "a boolean");
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

bool Prop(Napi::Env env, Napi::Value obj, const char* key, Napi::Value* out) {
  if (!obj.IsObject()) {
    *out = env.Undefined();
    return true;
  }
  *out = obj.As<Napi::Object>().Get(key);
  return !env.IsExceptionPending();
}

bool Options(Napi::Env env, Napi::Value v, const char* what,
             Napi::Value* out) {
  if (v.IsUndefined() || v.IsNull()) {
    *out = Napi::Object::New(env);
    return true;
  }
  if (!v.IsObject()) return Fail(env, what, "an object");
  *out = v;
  return true;
}

bool Xattrs(Napi::Env env, Napi::Value v, const char* what, XattrList* out,
            bool* present) {
  out->clear();
  *present = false;
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) return Fail(env, what, "an array of [name, Buffer]");
  Napi::Array arr = v.As<Napi::Array>();
  uint32_t n = arr.Length();
  out->reserve(n);
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value item = arr.Get(i);
    if (env.IsExceptionPending()) return false;
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 2) {
      return Fail(env, what, "an array of [name, Buffer]");
    }
    Napi::Array pair = item.As<Napi::Array>();
    Napi::Value name = pair.Get(0u);
    if (env.IsExceptionPending()) return false;
    Napi::Value value = pair.Get(1u);
    if (env.IsExceptionPending()) return false;
    Xattr x;
    if (!String(env, name, what, &x.name)) return false;
    if (x.name.empty()) return Fail(env, what, "a list with non-empty names");
    if (!Bytes(env, value, what, &x.value)) return false;
    out->push_back(std::move(x));
  }
  *present = true;
  return true;
}

bool IsHex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool ChecksumBuffers(Napi::Env env, Napi::Value v, const char* what,
                     std::vector<std::string>* sums,
                     std::vector<Napi::Buffer<char>>* bufs) {
  if (!v.IsArray()) return ThrowType(env, std::string(what) + " must be an array of [checksum, Buffer]");
  Napi::Array items = v.As<Napi::Array>();
  sums->reserve(items.Length());
  bufs->reserve(items.Length());
  for (uint32_t i = 0; i < items.Length(); i++) {
    Napi::Value it = items.Get(i);
    if (!it.IsArray() || it.As<Napi::Array>().Length() != 2) {
      return ThrowType(env, std::string(what) + " must be an array of [checksum, Buffer]");
    }
    Napi::Array pair = it.As<Napi::Array>();
    std::string csum;
    if (!String(env, pair.Get(0u), "checksum", &csum)) return false;
    Napi::Value b = pair.Get(1u);
    if (!b.IsBuffer()) return ThrowType(env, "data must be a Buffer");
    if (!IsHex64(csum)) return ThrowType(env, "checksum must be 64 lowercase hex characters");
    sums->push_back(std::move(csum));
    bufs->push_back(b.As<Napi::Buffer<char>>());
  }
  return true;
}

}  // namespace args
}  // namespace ostree
