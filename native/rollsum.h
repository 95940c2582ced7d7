// rollsum.{h,cc}: ostree's rollsum matching of a modified file against its
// previous version (ostree-rollsum.c, bupsplit; FORMATS.md §8.7): both files
// cut into content-defined chunks, a to-chunk matching the first from-chunk
// with the same key and identical bytes. The key is CRC-32 of the *start* of
// the file over the chunk's length, as ostree computes it.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ostree {

struct RollsumMatch {
  uint64_t len, to_start, from_start;
};

struct RollsumResult {
  uint32_t crcmatches = 0;  // distinct to-keys present in the from file
  uint32_t bufmatches = 0;  // matched to-chunks
  uint32_t total = 0;       // to-chunks
  uint64_t match_size = 0;  // bytes matched
  std::vector<RollsumMatch> matches;  // by to_start
};

// bupsplit's boundary search: offset just past the first boundary in
// buf[0..len), or 0 when there is none.
size_t BupsplitFind(const uint8_t* buf, size_t len);

void RollsumMatches(const uint8_t* from, size_t from_len, const uint8_t* to, size_t to_len, RollsumResult* out);

// rollsum_matches(from: Buffer, to: Buffer): Promise<{crcmatches, bufmatches,
//   total, matchSize, matches: Float64Array /* [len, toStart, fromStart]… */}>
Napi::Value RollsumMatchesJs(const Napi::CallbackInfo& info);

}  // namespace ostree
