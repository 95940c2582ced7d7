// xz.cc: see xz.h.
#include "xz.h"

#include <errno.h>
#include <lzma.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>
#include <vector>

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

// Reads `n` bytes at stream offset `off` (memory or pread); false on failure.
using ReadAt = std::function<bool(uint64_t off, uint8_t* dst, size_t n)>;

// The uncompressed size an xz stream of `len` bytes declares in its index (a
// hint for the allocation: the decoder still checks it); 0 when unreadable.
uint64_t DeclaredSize(uint64_t len, const ReadAt& read_at) {
  if (len < 2 * LZMA_STREAM_HEADER_SIZE) return 0;
  uint8_t foot[LZMA_STREAM_HEADER_SIZE];
  lzma_stream_flags footer;
  if (!read_at(len - LZMA_STREAM_HEADER_SIZE, foot, sizeof foot) ||
      lzma_stream_footer_decode(&footer, foot) != LZMA_OK) {
    return 0;
  }
  if (footer.backward_size > len - 2 * LZMA_STREAM_HEADER_SIZE || footer.backward_size > (16u << 20)) return 0;
  std::vector<uint8_t> index(static_cast<size_t>(footer.backward_size));
  if (!read_at(len - LZMA_STREAM_HEADER_SIZE - index.size(), index.data(), index.size())) return 0;
  lzma_index* idx = nullptr;
  uint64_t memlimit = 16u << 20;
  size_t pos = 0;
  if (lzma_index_buffer_decode(&idx, &memlimit, nullptr, index.data(), &pos, index.size()) != LZMA_OK) return 0;
  uint64_t size = lzma_index_uncompressed_size(idx);
  lzma_index_end(idx, nullptr);
  return size;
}

// Supplies input: the next chunk in *p / *n (n == 0 at the end); false on a read error.
using Refill = std::function<bool(const uint8_t** p, size_t* n)>;

// liblzma's allocations (the dictionary is the large one) go through
// MapPages when large; a header before each block records its size and kind.
constexpr size_t kAllocHeader = 64;

void* LzmaAlloc(void*, size_t nmemb, size_t size) {
  if (size != 0 && nmemb > (size_t(-1) - kAllocHeader) / size) return nullptr;
  size_t total = nmemb * size + kAllocHeader;
  char* base;
  if (total >= kPageAllocMin) {
    void* m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    base = static_cast<char*>(m);
  } else {
    base = static_cast<char*>(malloc(total));
    if (!base) return nullptr;
  }
  memcpy(base, &total, sizeof total);
  return base + kAllocHeader;
}

void LzmaFree(void*, void* ptr) {
  if (!ptr) return;
  char* base = static_cast<char*>(ptr) - kAllocHeader;
  size_t total;
  memcpy(&total, base, sizeof total);
  if (total >= kPageAllocMin) {
    munmap(base, total);
  } else {
    free(base);
  }
}

const lzma_allocator kLzmaAllocator = {LzmaAlloc, LzmaFree, nullptr};

bool Decode(uint64_t declared, const Refill& refill, uint64_t max_out, PageString* out, std::string* msg) {
  out->clear();
  lzma_stream s = LZMA_STREAM_INIT;
  s.allocator = &kLzmaAllocator;
  // Any integrity check type is accepted (and verified when liblzma knows it).
  lzma_ret r = lzma_stream_decoder(&s, kXzMemLimit, 0);
  if (r != LZMA_OK) {
    *msg = LzmaMessage(r);
    return false;
  }
  // Start at the size the stream's index declares (exact for well-formed
  // input, so no slack is held; trusted only up to 256 MiB before any data
  // is seen), else at a guess; grow geometrically, never past max_out (+1
  // to detect excess).
  const uint64_t cap = max_out == UINT64_MAX ? max_out : max_out + 1;
  size_t used = 0;
  bool ok = false, eof = false;
  try {
    uint64_t first = declared > 0 ? std::min<uint64_t>(declared + 1, 256u << 20) : 1u << 20;
    out->resize(static_cast<size_t>(std::min<uint64_t>(cap, first)));
    for (;;) {
      if (used == out->size()) {
        if (out->size() >= cap) {
          *msg = "Decompressed data larger than expected";
          break;
        }
        out->resize(static_cast<size_t>(std::min<uint64_t>(cap, uint64_t(out->size()) * 2)));
      }
      if (s.avail_in == 0 && !eof) {
        const uint8_t* p = nullptr;
        size_t n = 0;
        if (!refill(&p, &n)) {
          *msg = "Read error";
          break;
        }
        s.next_in = p;
        s.avail_in = n;
        eof = n == 0;
      }
      s.next_out = reinterpret_cast<uint8_t*>(&(*out)[used]);
      s.avail_out = out->size() - used;
      // LZMA_FINISH once all input is in: running out of it is then truncation.
      r = lzma_code(&s, eof ? LZMA_FINISH : LZMA_RUN);
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

}  // namespace

bool XzDecode(const uint8_t* in, size_t len, uint64_t max_out, PageString* out, std::string* msg) {
  uint64_t declared = DeclaredSize(len, [&](uint64_t off, uint8_t* dst, size_t n) {
    memcpy(dst, in + off, n);
    return true;
  });
  bool given = false;
  return Decode(declared, [&](const uint8_t** p, size_t* n) {
    *p = in;
    *n = given ? 0 : len;
    given = true;
    return true;
  }, max_out, out, msg);
}

bool XzDecodeFd(int fd, uint64_t start, uint64_t len, uint64_t max_out, PageString* out, std::string* msg) {
  auto pread_all = [fd](uint64_t off, uint8_t* dst, size_t n) {
    while (n > 0) {
      ssize_t k = pread(fd, dst, n, off_t(off));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return false;
      dst += k;
      n -= size_t(k);
      off += uint64_t(k);
    }
    return true;
  };
  uint64_t declared = DeclaredSize(len, [&](uint64_t off, uint8_t* dst, size_t n) { return pread_all(start + off, dst, n); });
  std::vector<uint8_t> buf(1u << 20);
  uint64_t pos = 0;
  return Decode(declared, [&](const uint8_t** p, size_t* n) {
    size_t want = size_t(std::min<uint64_t>(buf.size(), len - pos));
    if (want > 0 && !pread_all(start + pos, buf.data(), want)) return false;
    pos += want;
    *p = buf.data();
    *n = want;
    return true;
  }, max_out, out, msg);
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
  PageString out_;
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
