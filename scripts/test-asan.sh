#!/usr/bin/env bash
# The native tests against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMakeLists.txt, OSTREE_SANITIZE=ON, into
# build-asan/). Node itself is not instrumented, so the ASan runtime is
# preloaded (first, then UBSan's); leak checking is off (Node keeps
# allocations until exit on purpose), everything else stops the run at the
# first report with exit code 86 (ASan) or 87 (UBSan). ASan's link-order
# check stays on: it proves the runtime really is first in every node process.
# Programs other than node that the tests start (ostree, xz) get the
# environment without the preload (test/native/helpers.ts hostEnv): ostree
# never exits under it. Runs in CI (.ci/run); a few minutes on two cores.
#   npm run test:asan [-- vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
# Incremental: only what changed since the last run is rebuilt.
npx cmake-js compile --out build-asan --CDOSTREE_SANITIZE=ON --parallel "${JOBS:-2}" > build-asan.log 2>&1 || { tail -40 build-asan.log; exit 1; }
asan="$(${CC:-cc} -print-file-name=libasan.so)"
ubsan="$(${CC:-cc} -print-file-name=libubsan.so)"
for f in "$asan" "$ubsan"; do
  [ -e "$f" ] || { echo "test:asan: $f not found (install the compiler's sanitizer runtimes)" >&2; exit 1; }
done
export NODE_OSTREE_ADDON="$PWD/build-asan/Release/node_ostree.node"
# A run against an uninstrumented addon would pass without checking anything.
if command -v nm >/dev/null 2>&1; then
  syms="$(nm -D "$NODE_OSTREE_ADDON")"
  grep -q ' U __asan_report_load' <<<"$syms" && grep -q ' U __ubsan_handle' <<<"$syms" ||
    { echo "test:asan: $NODE_OSTREE_ADDON is not instrumented (stale build-asan/?)" >&2; exit 1; }
fi
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
# The symbol check looks at the instrumented addon, which imports the sanitizer runtimes by design.
# Instrumented code runs several times slower: per-test timeouts are raised.
# test/native/ with its slash: vitest filters match substrings (not test/native-*.test.ts).
exec npx vitest run test/native/ --exclude test/native/symbols.test.ts --testTimeout=120000 --hookTimeout=120000 "$@"
