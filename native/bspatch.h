// bspatch.{h,cc}: applying a bsdiff patch as static deltas carry it
// (FORMATS.md §8.6: the record stream of mendsley/bsdiff, "BSDIFF43"
// without its file header and without bzip2). Written from the format
// description; every length and position is checked, so a hostile patch
// can only fail, never read or write outside the buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace ostree {

// Receives the new file's bytes in order; returning false stops the patch
// (the sink recorded its own error).
using BspatchSink = std::function<bool(const uint8_t* data, size_t len)>;

enum class BspatchResult { kOk, kFailed, kSinkFailed };

// Rebuilds a file of exactly `new_size` bytes from `old` and `patch`,
// streaming it into `sink` (no buffer of the new file's size is allocated).
// kFailed (with `*msg`) on a malformed patch: a negative or oversized
// length, a record that runs past `new_size`, or a patch that ends early.
// Bytes after the record that completes `new_size` are ignored.
BspatchResult Bspatch(const uint8_t* old, size_t old_size, const uint8_t* patch,
                      size_t patch_len, uint64_t new_size, const BspatchSink& sink,
                      std::string* msg);

}  // namespace ostree

#include <napi.h>

namespace ostree {

// bspatch_apply(old: Buffer, patch: Buffer, newSize: number): Buffer —
// synchronous, in memory, for tests and tools (parts patch through
// delta_part_execute). Throws an Error with code OSTREE_CORRUPT_OBJECT for a
// malformed patch.
Napi::Value BspatchApply(const Napi::CallbackInfo& info);

}  // namespace ostree
