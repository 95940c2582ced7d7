// bsdiff.cc: see bsdiff.h. The scan walks the new file looking for a match
// in the old one that beats the "carried over" alignment (the previous
// match's offset) by more than 8 bytes; each time one is found, the region
// since the last record is emitted as a forward extension of the previous
// match (diff bytes), literal bytes (extra), and a backward extension of the
// new match (the next record's diff).
#include "bsdiff.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include "errors.h"
#include "suffix_array.h"
#include "worker.h"

namespace ostree {

namespace {

size_t MatchLen(const uint8_t* a, size_t alen, const uint8_t* b, size_t blen) {
  size_t n = std::min(alen, blen), i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

// Longest prefix of nw[0..nlen) occurring in old, found by binary search of
// the suffix array; its old position in *pos.
size_t Search(const int32_t* sa, const uint8_t* old, size_t old_len, const uint8_t* nw, size_t nlen, size_t* pos) {
  if (old_len == 0) {
    *pos = 0;
    return 0;
  }
  size_t lo = 0, hi = old_len - 1;
  while (hi - lo >= 2) {
    size_t mid = lo + (hi - lo) / 2;
    size_t p = static_cast<size_t>(sa[mid]);
    size_t n = std::min(old_len - p, nlen);
    if (std::memcmp(old + p, nw, n) < 0)
      lo = mid;
    else
      hi = mid;
  }
  size_t plo = static_cast<size_t>(sa[lo]), phi = static_cast<size_t>(sa[hi]);
  size_t x = MatchLen(old + plo, old_len - plo, nw, nlen);
  size_t y = MatchLen(old + phi, old_len - phi, nw, nlen);
  if (x >= y) {
    *pos = plo;
    return x;
  }
  *pos = phi;
  return y;
}

void PutOff(int64_t v, std::vector<uint8_t>* out) {
  uint64_t mag = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  for (int i = 0; i < 8; i++) {
    uint8_t b = static_cast<uint8_t>(mag >> (8 * i));
    if (i == 7 && v < 0) b |= 0x80;
    out->push_back(b);
  }
}

}  // namespace

bool Bsdiff(const uint8_t* old, size_t old_len, const uint8_t* nw, size_t new_len, std::vector<uint8_t>* out,
            std::string* err) {
  if (old_len > kMaxSuffixArrayInput || new_len > kMaxSuffixArrayInput) {
    *err = "bsdiff: input too large";
    return false;
  }
  try {
    std::unique_ptr<int32_t[]> sa(new int32_t[old_len ? old_len : 1]);
    if (!BuildSuffixArray(old, old_len, sa.get())) {
      *err = "bsdiff: suffix array construction failed";
      return false;
    }
    out->reserve(out->size() + new_len / 8 + 64);
    // Signed arithmetic as in the format: positions and offsets fit int64.
    const int64_t oldsize = static_cast<int64_t>(old_len), newsize = static_cast<int64_t>(new_len);
    int64_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, lastoffset = 0;
    while (scan < newsize) {
      int64_t oldscore = 0;
      int64_t scsc = scan += len;
      for (; scan < newsize; scan++) {
        size_t p = 0;
        len = static_cast<int64_t>(Search(sa.get(), old, old_len, nw + scan, static_cast<size_t>(newsize - scan), &p));
        pos = static_cast<int64_t>(p);
        for (; scsc < scan + len; scsc++)
          if (scsc + lastoffset < oldsize && old[scsc + lastoffset] == nw[scsc]) oldscore++;
        if ((len == oldscore && len != 0) || len > oldscore + 8) break;
        if (scan + lastoffset < oldsize && old[scan + lastoffset] == nw[scan]) oldscore--;
      }
      if (len == oldscore && scan != newsize) continue;

      // Forward extension of the previous match: the longest prefix where
      // more than half the bytes agree.
      int64_t lenf = 0;
      {
        int64_t s = 0, best = 0;
        for (int64_t i = 0; lastscan + i < scan && lastpos + i < oldsize;) {
          if (old[lastpos + i] == nw[lastscan + i]) s++;
          i++;
          if (s * 2 - i > best * 2 - lenf) {
            best = s;
            lenf = i;
          }
        }
      }
      // Backward extension of the new match.
      int64_t lenb = 0;
      if (scan < newsize) {
        int64_t s = 0, best = 0;
        for (int64_t i = 1; scan >= lastscan + i && pos >= i; i++) {
          if (old[pos - i] == nw[scan - i]) s++;
          if (s * 2 - i > best * 2 - lenb) {
            best = s;
            lenb = i;
          }
        }
      }
      // Overlapping extensions: split where the forward one stops paying.
      if (lastscan + lenf > scan - lenb) {
        int64_t overlap = (lastscan + lenf) - (scan - lenb);
        int64_t s = 0, best = 0, lens = 0;
        for (int64_t i = 0; i < overlap; i++) {
          if (nw[lastscan + lenf - overlap + i] == old[lastpos + lenf - overlap + i]) s++;
          if (nw[scan - lenb + i] == old[pos - lenb + i]) s--;
          if (s > best) {
            best = s;
            lens = i + 1;
          }
        }
        lenf += lens - overlap;
        lenb -= lens;
      }

      int64_t extra = (scan - lenb) - (lastscan + lenf);
      PutOff(lenf, out);
      PutOff(extra, out);
      PutOff((pos - lenb) - (lastpos + lenf), out);
      for (int64_t i = 0; i < lenf; i++) out->push_back(static_cast<uint8_t>(nw[lastscan + i] - old[lastpos + i]));
      out->insert(out->end(), nw + lastscan + lenf, nw + lastscan + lenf + extra);

      lastscan = scan - lenb;
      lastpos = pos - lenb;
      lastoffset = pos - scan;
    }
  } catch (const std::bad_alloc&) {
    *err = "bsdiff: out of memory";
    return false;
  }
  return true;
}

namespace {

class BsdiffWorker : public PromiseWorker {
 public:
  BsdiffWorker(Napi::Env env, Napi::Buffer<uint8_t> old, Napi::Buffer<uint8_t> nw)
      : PromiseWorker(env, "ostree:bsdiff"),
        old_(old.Data()),
        old_len_(old.Length()),
        new_(nw.Data()),
        new_len_(nw.Length()),
        old_ref_(Napi::Persistent(static_cast<Napi::Object>(old))),
        new_ref_(Napi::Persistent(static_cast<Napi::Object>(nw))),
        out_(new std::vector<uint8_t>()) {}

  void Execute() override {
    std::string msg;
    if (!Bsdiff(old_, old_len_, new_, new_len_, out_.get(), &msg)) {
      error_.Set(msg.find("memory") != std::string::npos ? ENOMEM : EFBIG, "bsdiff", "", "", msg);
    }
  }

  Napi::Value Resolve(Napi::Env env) override {
    std::vector<uint8_t>* v = out_.release();
    if (v->empty()) {
      delete v;
      return Napi::Buffer<uint8_t>::New(env, 0);
    }
    return Napi::Buffer<uint8_t>::NewOrCopy(env, v->data(), v->size(),
                                            [](Napi::Env, uint8_t*, std::vector<uint8_t>* p) { delete p; }, v);
  }

 private:
  const uint8_t* old_;
  size_t old_len_;
  const uint8_t* new_;
  size_t new_len_;
  Napi::ObjectReference old_ref_;
  Napi::ObjectReference new_ref_;
  std::unique_ptr<std::vector<uint8_t>> out_;
};

}  // namespace

Napi::Value BsdiffJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || !info[1].IsBuffer()) {
    ThrowType(env, "old and new must be Buffers");
    return env.Undefined();
  }
  return PromiseWorker::Start(new BsdiffWorker(env, info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Buffer<uint8_t>>()));
}

Napi::Value SuffixArrayJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    ThrowType(env, "text must be a Buffer");
    return env.Undefined();
  }
  Napi::Buffer<uint8_t> text = info[0].As<Napi::Buffer<uint8_t>>();
  if (text.Length() > (1u << 24)) {
    ThrowType(env, "text too large for the synchronous suffix_array");
    return env.Undefined();
  }
  Napi::Int32Array sa = Napi::Int32Array::New(env, text.Length());
  if (!BuildSuffixArray(text.Data(), text.Length(), sa.Data())) {
    ThrowType(env, "suffix array construction failed");
    return env.Undefined();
  }
  return sa;
}

}  // namespace ostree
