#!/usr/bin/env bash
# The native tests against the addon built with AddressSanitizer and
# UndefinedBehaviorSanitizer (CMakeLists.txt, OSTREE_SANITIZE=ON, into
# build-asan/). Node itself is not instrumented, so the ASan runtime is
# preloaded; leak checking is off (Node keeps allocations until exit on
# purpose), everything else stops the run at the first report.
#   npm run test:asan [-- vitest args]
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-asan --CDOSTREE_SANITIZE=ON > build-asan.log 2>&1 || { tail -40 build-asan.log; exit 1; }
asan="$(${CC:-cc} -print-file-name=libasan.so)"
ubsan="$(${CC:-cc} -print-file-name=libubsan.so)"
for f in "$asan" "$ubsan"; do
  [ -e "$f" ] || { echo "test:asan: $f not found (install the compiler's sanitizer runtimes)" >&2; exit 1; }
done
export NODE_OSTREE_ADDON="$PWD/build-asan/Release/node_ostree.node"
export LD_PRELOAD="$asan:$ubsan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=87"
# The symbol check looks at the instrumented addon, which imports the sanitizer runtimes by design.
exec npx vitest run test/native --exclude test/native/symbols.test.ts "$@"
