// bsdiff.{h,cc}: binary diffs in the patch format ostree's bspatch reads
// (FORMATS.md §8.6: the ENDSLEY/BSDIFF43 record stream without file header
// or compression — per record 24 bytes of control (diff length, extra
// length, old-position seek; sign-magnitude little-endian), then the diff
// bytes, then the extra bytes). Matching is Colin Percival's bsdiff scan
// over a suffix array of the old file (suffix_array.h).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ostree {

// The patch turning old[0..old_len) into nw[0..new_len), appended to *out.
// Fails (false, message in *err) on inputs too large for the suffix array
// or when memory runs out.
bool Bsdiff(const uint8_t* old, size_t old_len, const uint8_t* nw, size_t new_len, std::vector<uint8_t>* out,
            std::string* err);

// bsdiff(old: Buffer, new: Buffer): Promise<Buffer>
Napi::Value BsdiffJs(const Napi::CallbackInfo& info);

// suffix_array(text: Buffer): Int32Array (synchronous; for tests of the
// suffix sorter on small inputs).
Napi::Value SuffixArrayJs(const Napi::CallbackInfo& info);

}  // namespace ostree
