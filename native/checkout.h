// checkout.{h,cc}: checkout_batch — executes a checkout plan built on the TS
// side (mkdir / link / copy / symlink / dirmeta), in order, on one pool
// thread, under ostree's errno rules: hardlink, falling back to a copy on
// EXDEV/EMLINK/EPERM; EEXIST resolved by the overwrite mode. Mirrors
// checkout_file_hardlink / checkout_one_file_at in ostree-repo-checkout.c.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value CheckoutBatch(const Napi::CallbackInfo& info);

}  // namespace ostree
