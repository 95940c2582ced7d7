// crash_point.cc: see crash_point.h.
#include "crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace ostree {

namespace {

// The kill point from NODE_OSTREE_CRASH_AT, read once: -1 when unset (not
// counting), 0 to count without killing, N > 0 to kill at the N-th.
long Target() {
  static const long target = [] {
    const char* s = std::getenv("NODE_OSTREE_CRASH_AT");
    if (s == nullptr || *s == '\0') return -1L;
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    return (end != nullptr && *end == '\0' && v >= 0) ? v : -1L;
  }();
  return target;
}

std::atomic<long> g_hits{0};

}  // namespace

void CrashPoint() {
  long target = Target();
  if (target < 0) return;
  if (g_hits.fetch_add(1, std::memory_order_relaxed) + 1 == target) {
    kill(getpid(), SIGKILL);
    // SIGKILL cannot be caught; wait for it rather than run on.
    for (;;) pause();
  }
}

Napi::Value CrashPointJs(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value()) {
    // Query only: the points counted so far.
    return Napi::Number::New(info.Env(), static_cast<double>(g_hits.load(std::memory_order_relaxed)));
  }
  CrashPoint();
  return info.Env().Undefined();
}

}  // namespace ostree
