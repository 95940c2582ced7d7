// args.{h,cc}: converting JS arguments into owned C++ data on the main thread.
// Every getter returns false with a pending TypeError on bad input, so
// callers just `if (!Get...(...)) return env.Undefined();`.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "xattr.h"

namespace ostree {
namespace args {

// A path: string or Buffer, no NUL bytes, not empty.
bool Path(Napi::Env env, Napi::Value v, const char* what, std::string* out);

// A string (any content but NUL-free when `no_nul`).
bool String(Napi::Env env, Napi::Value v, const char* what, std::string* out);

// Buffer / TypedArray / ArrayBuffer bytes, copied.
bool Bytes(Napi::Env env, Napi::Value v, const char* what, std::string* out);

// An integer in [0, 2^32); `*out` = -1 when `v` is undefined/null and optional.
bool Uint32(Napi::Env env, Napi::Value v, const char* what, bool optional,
            int64_t* out);

// A boolean; `dflt` when undefined/null.
bool Bool(Napi::Env env, Napi::Value v, const char* what, bool dflt, bool* out);

// Array<[string, Buffer]>; `*present` tells whether it was given at all.
bool Xattrs(Napi::Env env, Napi::Value v, const char* what, XattrList* out,
            bool* present);

// 64 lowercase hex characters (a checksum).
bool IsHex64(const std::string& s);

// Array<[checksum, Buffer]>: the checksums (64 lowercase hex each) and the
// Buffers themselves (not copied: the caller keeps them referenced).
bool ChecksumBuffers(Napi::Env env, Napi::Value v, const char* what,
                     std::vector<std::string>* sums,
                     std::vector<Napi::Buffer<char>>* bufs);

// obj[key], or undefined when `obj` is not an object. Returns false if the
// property access threw.
bool Prop(Napi::Env env, Napi::Value obj, const char* key, Napi::Value* out);

// An options object: undefined/null become an empty object.
bool Options(Napi::Env env, Napi::Value v, const char* what, Napi::Value* out);

}  // namespace args
}  // namespace ostree
