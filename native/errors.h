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

// "ENOENT" for 2, etc.: Node's own table (libuv's names), handed over once by
// errors_init; "Unknown system error -N" before that or for unknown values.
std::string ErrnoCode(int err);

// errors_init(util.getSystemErrorMap()): the errno names and messages every
// later error uses. Called once by lib/binding.ts right after loading.
Napi::Value ErrorsInit(const Napi::CallbackInfo& info);

// Builds the Error object (errno is negative, like Node's).
Napi::Value MakeFsError(Napi::Env env, const SysError& e);

// Throws a TypeError (pending exception; NAPI_DISABLE_CPP_EXCEPTIONS) and
// returns false.
bool ThrowType(Napi::Env env, const std::string& message);

}  // namespace ostree
