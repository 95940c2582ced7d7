// xz_encode.{h,cc}: compress static delta parts as ostree does (one .xz
// stream, LZMA2 preset 8, CRC64 check), with Debian's static liblzma.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ostree {

// Compresses `len` bytes into `out` (replaced). Returns false with a message
// in `*err` on failure (out of memory, invalid preset).
bool XzEncode(const uint8_t* data, size_t len, uint32_t preset, std::vector<uint8_t>* out, std::string* err);

// xz_encode(data: Buffer, opts?: {preset?: number}): Promise<Buffer>
Napi::Value XzEncodeJs(const Napi::CallbackInfo& info);

}  // namespace ostree
