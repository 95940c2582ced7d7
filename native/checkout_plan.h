// checkout_plan.{h,cc}: the tree walk of a checkout, streamed. Every dirtree
// under the root is read (from the first repo of the chain that has it),
// parsed and checked (FORMATS.md §5.2/§11: valid names, strictly sorted, no
// name both a file and a directory) on a pool thread, in steps:
//
// checkout_plan_open(repos, rootTree, rootMeta, base) -> cursor (an External
// holding an explicit depth-first stack; `base` is the checkout root).
//
// checkout_plan_next(cursor, maxEntries, dirtree?) -> Promise of the next
// step of at most maxEntries files and directories, in the order the
// checkout creates things (a directory, its files, then its subdirectories):
//   first:    pre-order number of dirs[0] (directories are numbered 0, 1, ...
//             in pre-order over the whole walk; 0 = the root)
//   dirs:     the directories entered in this step, absolute, pre-order
//   depth:    Uint32Array, per dir, 0 for the root
//   metas:    per dir, its dirmeta checksum (64 hex characters each)
//   finished: Uint32Array, the directories finished in this step (all their
//             files and subdirectories emitted, in this step or before), in
//             post-order (children before their parent)
//   files:    the step's files as a file list for checkout_files jobs
//             ({list, start, end}), or null; nfiles: how many
//   need:     when set, the walk stopped just before a directory whose
//             dirtree (this checksum) is missing or not taken by the strict
//             reader: the caller reports it in its own words, or passes a
//             normal-form copy of it as `dirtree` to the next call, which
//             then goes on from there (`rejected`: that copy wasn't taken
//             either)
//   done:     the walk is over.
// One step at a time per cursor.
//
// tree_reachable(repos, rootTrees): the same walk for reachability (fsck):
// {types: Uint8Array (ObjectType), csums: 64 hex per object, ends:
// Uint32Array}, every dirtree, file and dirmeta under the roots (64 hex
// each, walked in turn) once, in the order of a depth-first walk with an
// explicit stack (a dirtree, its files, its subdirectories' dirmetas; the
// last subdirectory first); a dirtree reached from an earlier root is not
// walked again. ends[i]: where root i's objects end. Null when a dirtree is
// missing or not taken by the strict reader.
#pragma once

#include <napi.h>

namespace ostree {

Napi::Value CheckoutPlanOpen(const Napi::CallbackInfo& info);
Napi::Value CheckoutPlanNext(const Napi::CallbackInfo& info);
Napi::Value TreeReachable(const Napi::CallbackInfo& info);

}  // namespace ostree
