// digest.{h,cc}: SHA-256 over caller buffers, synchronously, for the known-
// answer tests and the hashing benchmark (every repository path hashes inside
// its own batch worker). Not part of the public API.
#pragma once

#include <napi.h>

namespace ostree {

// sha256_digest(chunks: Buffer[], opts?: {repeat?: number, impl?: 'auto'|'portable'|'sha-ni'})
//   -> hex of chunks[0] ‖ … ‖ chunks[n-1], the whole list fed `repeat` times
//      (default 1). 'sha-ni' throws a RangeError where the CPU lacks it.
Napi::Value Sha256Digest(const Napi::CallbackInfo& info);
// sha256_info() -> { selected: 'portable'|'sha-ni', shaNi: boolean }
Napi::Value Sha256Info(const Napi::CallbackInfo& info);

}  // namespace ostree
