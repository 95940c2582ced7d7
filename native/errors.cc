// errors.cc: see errors.h.
#include "errors.h"

#include <uv.h>

namespace ostree {

bool SysError::Set(int e, const char* sc, const std::string& p,
                   const std::string& d, const std::string& det) {
  err = e != 0 ? e : EIO;
  syscall = sc;
  path = p;
  dest = d;
  detail = det;
  return false;
}

const char* ErrnoCode(int err) {
  // uv error codes are negated errno values on Unix.
  return uv_err_name(-err);
}

Napi::Value MakeFsError(Napi::Env env, const SysError& e) {
  const char* code = ErrnoCode(e.err);
  std::string message = code;
  message += ": ";
  message += e.detail.empty() ? uv_strerror(-e.err) : e.detail;
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
