// xz.{h,cc}: decoding the `.xz` container (LZMA2) that static delta parts
// are compressed with (FORMATS.md §8.4), through Debian's static liblzma
// (linked by path in binding.gyp; --exclude-libs keeps its symbols hidden).
// Decoding only: generation lives elsewhere.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "page_alloc.h"

namespace ostree {

// The decoder may use at most this much memory (ostree since 2026.3 uses the
// same bound; preset 9 needs about 65 MiB): a hostile stream header asking
// for a larger dictionary fails instead of allocating it.
constexpr uint64_t kXzMemLimit = 100u << 20;

// Decodes one complete xz stream of `len` bytes into `*out` (replaced).
// Output beyond `max_out` bytes is an error: nothing larger is ever held.
// Bytes after the end of the stream are ignored, as by ostree's decoder. On
// failure returns false with a description in `*msg`.
bool XzDecode(const uint8_t* in, size_t len, uint64_t max_out, PageString* out, std::string* msg);

// The same for the `len` bytes of file `fd` from offset `start`, read in
// 1 MiB chunks (the compressed data is never held whole). The output and
// the decoder's dictionary are mapped pages, unmapped when freed.
bool XzDecodeFd(int fd, uint64_t start, uint64_t len, uint64_t max_out, PageString* out, std::string* msg);

// xz_decode(buf, maxSize): Promise<Buffer>, decoded on the thread pool;
// rejects with an Error whose code is OSTREE_CORRUPT_OBJECT on bad data or
// output beyond maxSize. (For tests and tools; parts go through
// delta_part_execute.)
Napi::Value XzDecodeJs(const Napi::CallbackInfo& info);

}  // namespace ostree
