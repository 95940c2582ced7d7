// suffix_array.{h,cc}: suffix arrays by induced sorting (SA-IS, Nong, Zhang
// and Chan 2009), for bsdiff's longest-match search. Linear time; memory is
// the 4-byte-per-position array itself plus one bit per position and the
// bucket tables (the reduced problem lives inside the output array).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ostree {

// Largest input BuildSuffixArray accepts (positions are int32).
constexpr size_t kMaxSuffixArrayInput = 0x7ffffff0;

// Fills sa[0..n) with the starting positions of the non-empty suffixes of
// text[0..n) in lexicographic order (a proper prefix sorts first). Returns
// false (sa untouched or partial) when n exceeds kMaxSuffixArrayInput or
// memory runs out.
bool BuildSuffixArray(const uint8_t* text, size_t n, int32_t* sa);

}  // namespace ostree
