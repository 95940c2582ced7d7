// commit.{h,cc}: the native commit engine (issue 5).
//
//  - content_write_batch(paths, opts, overrides?): for each source file, one
//    read that feeds SHA-256 (FORMATS.md §2.3) and, when the repository lacks
//    the object, the object itself (bare, bare-user, bare-user-only, or
//    archive `.filez` with raw deflate, §3.3/§3.4). Small files are read into
//    memory and hashed first, so existing objects are never rewritten; large
//    files stream into an anonymous temp file while hashing. Objects are
//    linked into objects/XX/ without replacing (an existing one wins), so a
//    stored object always matches its name.
//  - metadata_write_batch(repo, items, opts): store serialized metadata
//    objects (checksums computed by the caller) that are missing.
//  - dirs_scan(paths, opts): one level of several directories: each
//    directory's own uid/gid/mode/xattrs (for its dirmeta) and its entries
//    (name, type, size).
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value ContentWriteBatch(const Napi::CallbackInfo& info);
Napi::Value MetadataWriteBatch(const Napi::CallbackInfo& info);
Napi::Value DirsScan(const Napi::CallbackInfo& info);

}  // namespace ostree
