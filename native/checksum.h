// checksum.{h,cc}: ostree content-object checksums (FORMATS.md §2.3):
// SHA-256 over u32be(len) ‖ 00000000 ‖ file header ‖ file data, computed for
// a batch of paths in one pool job.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value ChecksumFiles(const Napi::CallbackInfo& info);

}  // namespace ostree
