// repo_batch.{h,cc}: batch operations on a repository's loose objects, each
// one pool job (JS runs several in parallel):
//  - metadata_read_batch(repos, rels, {sha256?}): read metadata objects
//    (searching a repo and its core.parent chain in order), optionally with
//    their SHA-256, for parallel reachability walks and fsck.
//  - content_verify_batch(repo, mode, csums, {disableXattrs?}): recompute the
//    checksum of content objects from their stored form in any mode
//    (archive: header + inflated payload). Anything not plainly readable is
//    flagged (status 1 missing, 2 other) for the caller to describe.
//  - objects_unlink_batch(repo, rels, {dryRun?}): lstat (size) and unlink.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value MetadataReadBatch(const Napi::CallbackInfo& info);
Napi::Value ContentVerifyBatch(const Napi::CallbackInfo& info);
Napi::Value ObjectsUnlinkBatch(const Napi::CallbackInfo& info);

}  // namespace ostree
