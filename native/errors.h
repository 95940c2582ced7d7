// errors.{h,cc}: errno -> an Error shaped exactly like Node's fs errors
// ({code, errno, syscall, path[, dest]}, message "CODE: description, syscall 'path'").
#pragma once

#include <napi.h>

#include <string>

namespace ostree {

// A failure recorded on a pool thread (plain data, no napi_env), turned into a
// JS Error on the main thread by MakeFsError().
struct SysError {
  int err = 0;          // positive errno value; 0 means "no error"
  std::string syscall;  // e.g. "open"
  std::string path;     // first path argument ("" = none)
  std::string dest;     // second path (link/rename), "" = none
  std::string detail;   // replaces the strerror text when non-empty

  bool failed() const { return err != 0; }

  // Records the error and returns false so callers can `return err->Set(...)`.
  bool Set(int e, const char* sc, const std::string& p,
           const std::string& d = std::string(),
           const std::string& det = std::string());
};

// "ENOENT" for 2, etc. (libuv's table, the one Node itself uses).
const char* ErrnoCode(int err);

// Builds the Error object (errno is negative, like Node's).
Napi::Value MakeFsError(Napi::Env env, const SysError& e);

// Throws a TypeError (pending exception; NAPI_DISABLE_CPP_EXCEPTIONS) and
// returns false.
bool ThrowType(Napi::Env env, const std::string& message);

}  // namespace ostree
