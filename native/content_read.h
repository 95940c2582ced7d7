// content_read.{h,cc}: content_read_batch(stores, csums, opts) — many content
// objects read in one pool job, for static delta generation: each object's
// metadata (the header: uid, gid, mode, symlink target, xattrs), its payload
// size, the bytes it takes in the repository, and with opts.data its payload
// (archive `.filez` inflated with our static zlib). Objects are looked up in
// `stores` in order (a repo, then its core.parent chain), as checkout_files
// does.
//
// Bounds: a payload larger than opts.maxObjectSize is refused (EFBIG) before
// anything is allocated for it, memory grows with the bytes actually read
// (never with a size claimed by a header alone), and with opts.data the batch
// stops before the object that would take the payload total past
// opts.maxBytes (at least one object is always read): `count` says how many
// were. A missing object is ENOENT, a corrupt one EINVAL with the object's
// path, like ObjectReader's other callers.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value ContentReadBatch(const Napi::CallbackInfo& info);

}  // namespace ostree
