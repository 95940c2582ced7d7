// pull_scan.{h,cc}: pull_scan_dirtrees(repos, modes, items) — what a pull
// does with the dirtrees it downloads, for a batch of them in one pool job:
// each one's SHA-256 is compared with the checksum it was asked for, it is
// parsed and checked (normal form, FORMATS.md §5.2/§11), and every object it
// names is looked up (one fstatat each) in the destination repo and the repos
// after it (core.parent), as objects/XX/REST.{file,filez,dirtree,dirmeta}
// for each repo's mode. Per item the promise gives either
//   {missing, dirs, present}: `missing` the content checksums not found
//   (64 hex each, dirtree order), `dirs` each subdirectory's dirtree and
//   dirmeta checksums (128 hex each), `present` a Uint8Array per
//   subdirectory (bit 0: its dirtree is stored, bit 1: its dirmeta is)
// or {actual} when the bytes' checksum differs (`actual` is theirs), or
// {invalid: true} when they don't parse: the caller's generic decoder then
// reports the problem in its own words.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value PullScanDirtrees(const Napi::CallbackInfo& info);

}  // namespace ostree
