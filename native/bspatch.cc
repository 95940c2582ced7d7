// bspatch.cc: see bspatch.h.
#include "bspatch.h"

#include <algorithm>
#include <climits>

namespace ostree {

namespace {

// "offtout" encoding: little-endian magnitude in the low 63 bits, sign in bit 63.
int64_t ReadOff(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  uint64_t mag = v & ~(uint64_t(1) << 63);
  int64_t y = static_cast<int64_t>(mag);
  return (v >> 63) ? -y : y;
}

}  // namespace

BspatchResult Bspatch(const uint8_t* old, size_t old_size, const uint8_t* patch,
                      size_t patch_len, uint64_t new_size, const BspatchSink& sink,
                      std::string* msg) {
  auto fail = [msg](const char* why) {
    *msg = why;
    return BspatchResult::kFailed;
  };
  if (old_size > uint64_t(INT64_MAX) || new_size > uint64_t(INT64_MAX)) return fail("bsdiff patch: file too large");
  size_t ppos = 0;  // read position in the patch
  int64_t oldpos = 0;
  uint64_t newpos = 0;
  uint8_t buf[64 * 1024];
  while (newpos < new_size) {
    if (patch_len - ppos < 24) return fail("bsdiff patch truncated");
    int64_t diff_len = ReadOff(patch + ppos);
    int64_t extra_len = ReadOff(patch + ppos + 8);
    int64_t seek = ReadOff(patch + ppos + 16);
    ppos += 24;
    if (diff_len < 0 || diff_len > INT_MAX || extra_len < 0 || extra_len > INT_MAX) {
      return fail("bsdiff patch failed: invalid record length");
    }
    if (uint64_t(diff_len) > new_size - newpos) return fail("bsdiff patch failed: record past the end of the file");
    if (uint64_t(diff_len) > patch_len - ppos) return fail("bsdiff patch truncated");
    // Diff bytes: added (mod 256) to the old bytes where those exist.
    for (int64_t done = 0; done < diff_len;) {
      size_t n = static_cast<size_t>(std::min<int64_t>(diff_len - done, sizeof buf));
      for (size_t i = 0; i < n; i++) {
        uint8_t b = patch[ppos + i];
        // oldpos + done + i cannot overflow: |oldpos| is kept below 2^62 (below).
        int64_t o = oldpos + done + static_cast<int64_t>(i);
        if (o >= 0 && uint64_t(o) < old_size) b = static_cast<uint8_t>(b + old[o]);
        buf[i] = b;
      }
      if (!sink(buf, n)) return BspatchResult::kSinkFailed;
      ppos += n;
      done += static_cast<int64_t>(n);
    }
    newpos += uint64_t(diff_len);
    oldpos += diff_len;
    if (uint64_t(extra_len) > new_size - newpos) return fail("bsdiff patch failed: record past the end of the file");
    if (uint64_t(extra_len) > patch_len - ppos) return fail("bsdiff patch truncated");
    if (extra_len > 0 && !sink(patch + ppos, static_cast<size_t>(extra_len))) return BspatchResult::kSinkFailed;
    ppos += static_cast<size_t>(extra_len);
    newpos += uint64_t(extra_len);
    // Seeks may go anywhere (bytes outside the old file count as 0), but the
    // position is kept within ±2^62 so the arithmetic above never overflows.
    if (__builtin_add_overflow(oldpos, seek, &oldpos) || oldpos > (int64_t(1) << 62) ||
        oldpos < -(int64_t(1) << 62)) {
      return fail("bsdiff patch failed: invalid seek");
    }
  }
  return BspatchResult::kOk;
}

}  // namespace ostree

namespace ostree {

Napi::Value BspatchApply(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || !info[1].IsBuffer() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "bspatch_apply(old: Buffer, patch: Buffer, newSize: number)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto old = info[0].As<Napi::Buffer<uint8_t>>();
  auto patch = info[1].As<Napi::Buffer<uint8_t>>();
  double n = info[2].As<Napi::Number>().DoubleValue();
  if (!(n >= 0 && n <= double(1u << 30))) {
    Napi::RangeError::New(env, "newSize must be between 0 and 1 GiB").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string out;
  out.reserve(size_t(n));
  std::string msg;
  BspatchResult r = Bspatch(old.Data(), old.Length(), patch.Data(), patch.Length(), uint64_t(n),
                            [&](const uint8_t* d, size_t len) {
                              out.append(reinterpret_cast<const char*>(d), len);
                              return true;
                            },
                            &msg);
  if (r != BspatchResult::kOk) {
    Napi::Error e = Napi::Error::New(env, msg);
    e.Set("code", Napi::String::New(env, "OSTREE_CORRUPT_OBJECT"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, out.data(), out.size());
}

}  // namespace ostree
