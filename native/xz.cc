// xz.cc: see xz.h.
#include "xz.h"

#include <lzma.h>

#include <algorithm>
#include <new>

#include "worker.h"

namespace ostree {

namespace {

const char* LzmaMessage(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "Out of memory decoding xz data";
    case LZMA_MEMLIMIT_ERROR: return "xz data needs more memory than allowed";
    case LZMA_FORMAT_ERROR: return "Not xz data";
    case LZMA_OPTIONS_ERROR: return "Unsupported xz options";
    case LZMA_DATA_ERROR: return "Corrupted xz data";
    case LZMA_BUF_ERROR: return "Truncated xz data";
    case LZMA_UNSUPPORTED_CHECK: return "Unsupported xz integrity check";
    default: return "xz decoding failed";
  }
}

}  // namespace

bool XzDecode(const uint8_t* in, size_t len, uint64_t max_out, std::string* out, std::string* msg) {
  out->clear();
  lzma_stream s = LZMA_STREAM_INIT;
  // Any integrity check type is accepted (and verified when liblzma knows it).
  lzma_ret r = lzma_stream_decoder(&s, kXzMemLimit, 0);
  if (r != LZMA_OK) {
    *msg = LzmaMessage(r);
    return false;
  }
  s.next_in = in;
  s.avail_in = len;
  // Grow geometrically from a guess, never past max_out (+1 to detect excess).
  const uint64_t cap = max_out == UINT64_MAX ? max_out : max_out + 1;
  size_t used = 0;
  bool ok = false;
  try {
    out->resize(static_cast<size_t>(std::min<uint64_t>(cap, std::max<uint64_t>(len * 4, 64 * 1024))));
    for (;;) {
      if (used == out->size()) {
        if (out->size() >= cap) {
          *msg = "Decompressed data larger than expected";
          break;
        }
        out->resize(static_cast<size_t>(std::min<uint64_t>(cap, uint64_t(out->size()) * 2)));
      }
      s.next_out = reinterpret_cast<uint8_t*>(&(*out)[used]);
      s.avail_out = out->size() - used;
      // LZMA_FINISH: all input is present, so running out of it is truncation.
      r = lzma_code(&s, LZMA_FINISH);
      used = out->size() - s.avail_out;
      if (used > max_out) {
        *msg = "Decompressed data larger than expected";
        break;
      }
      if (r == LZMA_STREAM_END) {
        ok = true;
        break;
      }
      if (r != LZMA_OK) {
        // LZMA_BUF_ERROR with output space left means the input ended early.
        *msg = LzmaMessage(r);
        break;
      }
    }
  } catch (const std::bad_alloc&) {
    *msg = "Out of memory decoding xz data";
    ok = false;
  }
  lzma_end(&s);
  if (ok) {
    out->resize(used);
  } else {
    out->clear();
    out->shrink_to_fit();
  }
  return ok;
}

namespace {

class XzDecodeWorker : public PromiseWorker {
 public:
  XzDecodeWorker(Napi::Env env, Napi::Buffer<uint8_t> buf, uint64_t max_out)
      : PromiseWorker(env, "ostree:xz_decode"),
        data_(buf.Data()),
        len_(buf.Length()),
        ref_(Napi::Persistent(static_cast<Napi::Object>(buf))),
        max_out_(max_out) {}

  void Execute() override { ok_ = XzDecode(data_, len_, max_out_, &out_, &msg_); }

  Napi::Value Resolve(Napi::Env env) override {
    if (!ok_) {
      Napi::Error e = Napi::Error::New(env, msg_);
      e.Set("code", Napi::String::New(env, "OSTREE_CORRUPT_OBJECT"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Buffer<char>::Copy(env, out_.data(), out_.size());
  }

 private:
  const uint8_t* data_;
  size_t len_;
  Napi::ObjectReference ref_;
  uint64_t max_out_;
  bool ok_ = false;
  std::string out_;
  std::string msg_;
};

}  // namespace

Napi::Value XzDecodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    ThrowType(env, "buf must be a Buffer");
    return env.Undefined();
  }
  if (!info[1].IsNumber() || info[1].As<Napi::Number>().DoubleValue() < 0) {
    ThrowType(env, "maxSize must be a non-negative number");
    return env.Undefined();
  }
  double m = info[1].As<Napi::Number>().DoubleValue();
  uint64_t max_out = m >= 9007199254740992.0 ? UINT64_MAX : static_cast<uint64_t>(m);
  return PromiseWorker::Start(new XzDecodeWorker(env, info[0].As<Napi::Buffer<uint8_t>>(), max_out));
}

}  // namespace ostree
