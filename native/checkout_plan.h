// checkout_plan.{h,cc}: checkout_plan(repos, rootTree, rootMeta) — the tree
// walk of a checkout done on a pool thread: every dirtree under `rootTree` is
// read (from the first repo of the chain that has it), parsed and checked
// (FORMATS.md §5.2/§11: valid names, strictly sorted, no name both a file and
// a directory), and flattened in the order the checkout creates things:
//   dirs:    relative paths ('' = the root), pre-order (a parent first)
//   depth:   Uint32Array, 0 for the root
//   metas:   the dirmeta checksum of each dir, 64 hex characters per dir
//   post:    Uint32Array, the dirs in post-order (children before parents)
//   fileDir: Uint32Array, the dir index of each file (a dir's files are
//            consecutive, in dirtree order, before its subdirectories' files)
//   names:   the files' names
//   csums:   the files' checksums, 64 hex characters per file
// Resolves null when anything is off (a missing or malformed dirtree, a bad
// name...): the caller then takes its per-object path, which reports it in
// its own words.
//
// tree_reachable(repos, rootTrees): the same walk for reachability (fsck):
// {types: Uint8Array (ObjectType), csums: 64 hex per object, ends:
// Uint32Array}, every dirtree, file and dirmeta under the roots (64 hex
// each, walked in turn) once, in the order of a depth-first walk with an
// explicit stack (a dirtree, its files, its subdirectories' dirmetas; the
// last subdirectory first); a dirtree reached from an earlier root is not
// walked again. ends[i]: where root i's objects end. Null when anything is
// off, as above.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value CheckoutPlan(const Napi::CallbackInfo& info);
Napi::Value TreeReachable(const Napi::CallbackInfo& info);

}  // namespace ostree
