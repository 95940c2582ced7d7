// Kill points for the crash-consistency harness (scripts/crash-test.js).
//
// With NODE_OSTREE_CRASH_AT=N (N > 0) in the environment, the N-th kill point
// the process reaches SIGKILLs it; with NODE_OSTREE_CRASH_AT=0 the points are
// only counted and the count is printed to stderr at exit as
// "node-ostree: crash points: C". Kill points sit where a crash must leave
// the repository consistent: before an object's temp file is linked into
// objects/ (in the native worker threads too), before a ref, the summary or a
// delta index is renamed into place, before prune deletes a batch of objects,
// between a pull's and a checkout's batches, and at each step of an admin
// deploy (lib/sysroot/: checkout rename, BLS entries, bootloader config,
// bootlink and boot/loader swaps, deployment removal, deployment refs). One counter covers JS and native
// code (it lives in the addon: native/crash_point.cc), so the same run
// reaches the same sequence of points and a harness can pick any of them.
//
// Unset (always, outside tests), crashPoint() is a test of a constant.
import { native } from './binding';

const setting = process.env.NODE_OSTREE_CRASH_AT;
const armed = setting !== undefined && /^\d+$/.test(setting);

if (setting === '0') {
  process.on('exit', () => {
    process.stderr.write(`node-ostree: crash points: ${native().crash_point(true)}\n`);
  });
}

/** Count one kill point; SIGKILL the process when it is the NODE_OSTREE_CRASH_AT-th. */
export function crashPoint(): void {
  if (armed) native().crash_point();
}
