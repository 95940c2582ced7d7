// xz_encode.cc: see xz_encode.h. The output grows geometrically from a guess
// of a quarter of the input (parts are mostly compressible metadata and
// file data), never pre-allocating lzma_stream_buffer_bound() for every part.
#include "xz_encode.h"

#include <lzma.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "args.h"
#include "errors.h"
#include "worker.h"

namespace ostree {

namespace {

const char* LzmaMessage(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR:
      return "out of memory";
    case LZMA_OPTIONS_ERROR:
      return "unsupported options";
    case LZMA_UNSUPPORTED_CHECK:
      return "unsupported integrity check";
    case LZMA_DATA_ERROR:
      return "data error";
    case LZMA_BUF_ERROR:
      return "no progress possible";
    default:
      return "internal error";
  }
}

}  // namespace

bool XzEncode(const uint8_t* data, size_t len, uint32_t preset, std::vector<uint8_t>* out, std::string* err) {
  lzma_stream strm = LZMA_STREAM_INIT;
  lzma_ret r = lzma_easy_encoder(&strm, preset, LZMA_CHECK_CRC64);
  if (r != LZMA_OK) {
    *err = std::string("lzma_easy_encoder: ") + LzmaMessage(r);
    return false;
  }
  out->clear();
  out->resize(std::max<size_t>(4096, len / 4 + 128));
  strm.next_in = data;
  strm.avail_in = len;
  strm.next_out = out->data();
  strm.avail_out = out->size();
  for (;;) {
    r = lzma_code(&strm, LZMA_FINISH);
    if (r == LZMA_STREAM_END) break;
    if (r != LZMA_OK) {
      lzma_end(&strm);
      *err = std::string("lzma_code: ") + LzmaMessage(r);
      return false;
    }
    if (strm.avail_out == 0) {
      size_t used = out->size();
      out->resize(used + std::max<size_t>(used, 4096));
      strm.next_out = out->data() + used;
      strm.avail_out = out->size() - used;
    }
  }
  out->resize(strm.total_out);
  out->shrink_to_fit();
  lzma_end(&strm);
  return true;
}

namespace {

class XzEncodeWorker : public PromiseWorker {
 public:
  XzEncodeWorker(Napi::Env env, Napi::Buffer<uint8_t> input, uint32_t preset)
      : PromiseWorker(env, "ostree:xz_encode"),
        data_(input.Data()),
        len_(input.Length()),
        ref_(Napi::Persistent(static_cast<Napi::Object>(input))),
        preset_(preset),
        out_(new std::vector<uint8_t>()) {}

  void Execute() override {
    std::string msg;
    if (!XzEncode(data_, len_, preset_, out_.get(), &msg)) error_.Set(msg.find("memory") != std::string::npos ? ENOMEM : EINVAL, "lzma", "", "", msg);
  }

  // The encoded bytes become the Buffer's backing store (copied where the
  // runtime forbids external buffers, as Electron's sandbox does).
  Napi::Value Resolve(Napi::Env env) override {
    std::vector<uint8_t>* v = out_.release();
    return Napi::Buffer<uint8_t>::NewOrCopy(env, v->data(), v->size(),
                                            [](Napi::Env, uint8_t*, std::vector<uint8_t>* p) { delete p; }, v);
  }

 private:
  const uint8_t* data_;
  size_t len_;
  Napi::ObjectReference ref_;
  uint32_t preset_;
  std::unique_ptr<std::vector<uint8_t>> out_;
};

}  // namespace

Napi::Value XzEncodeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    ThrowType(env, "data must be a Buffer");
    return env.Undefined();
  }
  Napi::Value opts, v;
  int64_t preset = -1;
  if (!args::Options(env, info[1], "opts", &opts) || !args::Prop(env, opts, "preset", &v) ||
      !args::Uint32(env, v, "opts.preset", true, &preset)) {
    return env.Undefined();
  }
  if (preset < 0) preset = 8;
  if (preset > 9) {
    ThrowType(env, "opts.preset must be 0..9");
    return env.Undefined();
  }
  return PromiseWorker::Start(new XzEncodeWorker(env, info[0].As<Napi::Buffer<uint8_t>>(), static_cast<uint32_t>(preset)));
}

}  // namespace ostree
