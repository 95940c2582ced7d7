// errors.cc: see errors.h.
#include "errors.h"

#include <cstring>
#include <mutex>
#include <unordered_map>

namespace ostree {

namespace {

struct ErrnoText {
  std::string code;     // "ENOENT"
  std::string message;  // "no such file or directory"
};

// Filled once per process by ErrorsInit() from Node's own table
// (util.getSystemErrorMap(), i.e. libuv's names and messages), so the addon
// needs no libuv symbols and its errors read exactly like fs errors.
std::once_flag table_once;
std::unordered_map<int, ErrnoText>* table = nullptr;  // positive errno -> text

const ErrnoText* Lookup(int err) {
  if (!table) return nullptr;
  auto it = table->find(err);
  return it == table->end() ? nullptr : &it->second;
}

std::string Unknown(int err) { return "Unknown system error " + std::to_string(-err); }

}  // namespace

Napi::Value ErrorsInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    ThrowType(env, "errors_init: expected the Map from util.getSystemErrorMap()");
    return env.Undefined();
  }
  // Read the Map's entries on this thread, then publish them once.
  auto* fresh = new std::unordered_map<int, ErrnoText>();
  Napi::Object map = info[0].As<Napi::Object>();
  Napi::Value entries_fn = map.Get("entries");
  if (!entries_fn.IsFunction()) {
    delete fresh;
    ThrowType(env, "errors_init: expected a Map");
    return env.Undefined();
  }
  Napi::Object it = entries_fn.As<Napi::Function>().Call(map, {}).As<Napi::Object>();
  Napi::Function next = it.Get("next").As<Napi::Function>();
  for (;;) {
    Napi::Value step = next.Call(it, {});
    if (env.IsExceptionPending() || !step.IsObject()) break;
    Napi::Object s = step.As<Napi::Object>();
    if (s.Get("done").ToBoolean()) break;
    Napi::Value pair = s.Get("value");
    if (!pair.IsArray()) continue;
    Napi::Array kv = pair.As<Napi::Array>();
    Napi::Value k = kv.Get(0u), v = kv.Get(1u);
    if (!k.IsNumber() || !v.IsArray()) continue;
    Napi::Array nm = v.As<Napi::Array>();
    Napi::Value name = nm.Get(0u), msg = nm.Get(1u);
    if (!name.IsString() || !msg.IsString()) continue;
    (*fresh)[-k.As<Napi::Number>().Int32Value()] = {name.As<Napi::String>().Utf8Value(),
                                                      msg.As<Napi::String>().Utf8Value()};
  }
  if (env.IsExceptionPending()) {
    delete fresh;
    return env.Undefined();
  }
  bool used = false;
  std::call_once(table_once, [&] {
    table = fresh;  // lives as long as the process (shared by every env)
    used = true;
  });
  if (!used) delete fresh;
  return Napi::Number::New(env, static_cast<double>(table->size()));
}

bool SysError::Set(int e, const char* sc, const std::string& p,
                   const std::string& d, const std::string& det) {
  err = e != 0 ? e : EIO;
  syscall = sc;
  path = p;
  dest = d;
  detail = det;
  return false;
}

std::string ErrnoCode(int err) {
  const ErrnoText* t = Lookup(err);
  return t ? t->code : Unknown(err);
}

Napi::Value MakeFsError(Napi::Env env, const SysError& e) {
  const ErrnoText* t = Lookup(e.err);
  const std::string code = t ? t->code : Unknown(e.err);
  std::string message = code;
  message += ": ";
  message += !e.detail.empty() ? e.detail : t ? t->message : std::string(std::strerror(e.err));
  if (!e.syscall.empty()) message += ", " + e.syscall;
  if (!e.path.empty()) message += " '" + e.path + "'";
  if (!e.dest.empty()) message += " -> '" + e.dest + "'";

  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("errno", Napi::Number::New(env, -e.err));
  obj.Set("code", Napi::String::New(env, code));
  if (!e.syscall.empty()) obj.Set("syscall", Napi::String::New(env, e.syscall));
  if (!e.path.empty()) obj.Set("path", Napi::String::New(env, e.path));
  if (!e.dest.empty()) obj.Set("dest", Napi::String::New(env, e.dest));
  return obj;
}

bool ThrowType(Napi::Env env, const std::string& message) {
  if (!env.IsExceptionPending()) {
    Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
  }
  return false;
}

}  // namespace ostree
