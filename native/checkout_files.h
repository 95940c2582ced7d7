// checkout_files.{h,cc}: checkout_files(job, opts) — the file phase of a
// checkout, one pool job per call (JS runs several in parallel). For each
// (directory, name, checksum) it loads the content object from the first
// store that has it and materialises it: hardlink from a bare object (with
// copy fallback on EXDEV/EMLINK/EPERM), hardlink through the archive
// uncompressed-objects cache (decompressing into it when missing), or a copy
// (payload copied or inflated; -U strips suid/sgid and adds u+r; otherwise
// uid/gid/xattrs are applied), or a symlink. A missing or unreadable object
// stops the job and is reported in the result (`failure`), so the caller can
// produce its own error; destination-side failures reject the promise.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value CheckoutFiles(const Napi::CallbackInfo& info);

}  // namespace ostree
