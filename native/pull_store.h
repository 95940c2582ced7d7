// pull_store.{h,cc}: content_store_filez — store a downloaded archive
// content object (`.filez`, FORMATS.md §3.4) into a repository of any mode
// in one pool job: parse its header, inflate and SHA-256 the payload as a
// stream (FORMATS.md §2.3), compare with the expected checksum and only then
// link the object into objects/ (archive: the downloaded file itself; bare
// modes: the inflated payload with the mode's metadata, §3.3). Memory use
// is a few fixed buffers whatever the object's size.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value ContentStoreFilez(const Napi::CallbackInfo& info);
// content_store_filez_batch: the same for many small downloads held in memory.
Napi::Value ContentStoreFilezBatch(const Napi::CallbackInfo& info);

}  // namespace ostree
