// lock.{h,cc}: repository lock primitive (FORMATS.md §5): whole-file OFD
// locks, flock fallback when the kernel rejects OFD with EINVAL. Only single
// non-blocking attempts; waiting/timeouts are a poll on the TS side.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value LockOpen(const Napi::CallbackInfo& info);
Napi::Value LockTry(const Napi::CallbackInfo& info);
Napi::Value LockClose(const Napi::CallbackInfo& info);
Napi::Value LockKind(const Napi::CallbackInfo& info);

}  // namespace ostree
