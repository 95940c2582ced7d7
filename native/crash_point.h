// crash_point.h: kill points for the crash-consistency harness
// (scripts/crash-test.js). With NODE_OSTREE_CRASH_AT=N in the environment,
// the N-th CrashPoint() reached in the process (counted across JS, through
// the crash_point export, and the native worker threads) SIGKILLs the
// process; NODE_OSTREE_CRASH_AT=0 only counts them (the harness learns how
// many points an operation has). Unset, a call is one load of a constant.
#pragma once

#include <napi.h>

namespace ostree {

// A place where a crash must leave the repository consistent: before an
// object's temp file is linked into objects/, before a ref moves, between
// batches. Cheap; safe on any thread.
void CrashPoint();

// JS: crash_point() — the same counter, for the write paths in TypeScript;
// crash_point(true) returns the count so far without counting.
Napi::Value CrashPointJs(const Napi::CallbackInfo& info);

}  // namespace ostree
