// delta_part.{h,cc}: executing one static delta part (FORMATS.md §8.4–§8.6)
// in one pool job: the part file's SHA-256 is checked first (when given),
// then its body is decompressed (none or xz, bounded), parsed, and its
// operations run, writing each object it creates into the repository in the
// repository's mode — bare, bare-user, bare-user-only or archive (`.filez`)
// — only after the object's checksum matched the one the part lists.
// Read sources (rollsum WRITEs, BSPATCH) come from the repository or its
// core.parent chain, in any mode. Every offset, length, index and varint is
// checked; a malformed part fails with a message, never a crash.
//
// delta_part_execute(repos: string[], modes: string[], part: Buffer | string,
//   objects: Buffer, opts: {checksum?, maxBodySize, statsOnly?, fsync?,
//   zlibLevel?}): Promise<DeltaPartResult>
//   `repos`/`modes`: the destination first, then its parents (read only).
//   `part`: the part file's bytes, or its path. `objects`: the part header's
//   object list (33-byte records). `checksum`: expected SHA-256 of the part
//   file (omitted for inline parts). `maxBodySize`: the decompressed body may
//   not be larger. `statsOnly`: count operations without writing (for
//   `static-delta show`).
//   Resolves {ok: true, written, existed, bytes, nmodes, nxattrs, blobsize,
//   opsize, ops: number[7]} or, for a bad part, {ok: false, kind:
//   'checksum'|'open'|'corrupt', message}; rejects with an fs-style error on I/O
//   failure.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value DeltaPartExecute(const Napi::CallbackInfo& info);

}  // namespace ostree
