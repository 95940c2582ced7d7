// rollsum.cc: see rollsum.h.
#include "rollsum.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "errors.h"
#include "worker.h"

namespace ostree {

namespace {

constexpr size_t kWindow = 64;
constexpr uint32_t kCharOffset = 31;
constexpr uint32_t kBlobMask = (1u << 13) - 1;
constexpr size_t kBlobMax = 32768;

struct Chunk {
  uint32_t key;
  uint64_t start, len;
};

// CRC-32 (IEEE 802.3, reflected), as zlib's crc32().
class Crc32 {
 public:
  Crc32() {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table_[i] = c;
    }
  }
  uint32_t Update(uint32_t crc, uint8_t b) const { return table_[(crc ^ b) & 0xff] ^ (crc >> 8); }

 private:
  uint32_t table_[256];
};

const Crc32& CrcTable() {
  static const Crc32 t;
  return t;
}

std::vector<Chunk> Chunks(const uint8_t* buf, size_t len) {
  // key(o) = crc32(buf[0..o)) for o <= kBlobMax: one pass over the prefix.
  size_t prefix = std::min(len, kBlobMax);
  std::vector<uint32_t> crc_at(prefix + 1);
  uint32_t c = 0xffffffffu;
  crc_at[0] = 0;
  for (size_t i = 0; i < prefix; i++) {
    c = CrcTable().Update(c, buf[i]);
    crc_at[i + 1] = c ^ 0xffffffffu;
  }
  std::vector<Chunk> out;
  size_t start = 0;
  bool tail = false;
  while (start < len) {
    size_t rem = len - start, o;
    if (!tail) {
      o = BupsplitFind(buf + start, std::min<size_t>(rem, 0x7fffffff));
      if (o == 0) {
        tail = true;
        o = std::min(kBlobMax, rem);
      } else if (o > kBlobMax) {
        o = kBlobMax;
      }
    } else {
      o = std::min(kBlobMax, rem);
    }
    out.push_back({crc_at[o], start, o});
    start += o;
  }
  return out;
}

}  // namespace

size_t BupsplitFind(const uint8_t* buf, size_t len) {
  uint32_t s1 = kWindow * kCharOffset;
  uint32_t s2 = kWindow * (kWindow - 1) * kCharOffset;
  uint8_t window[kWindow] = {0};
  size_t w = 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t drop = window[w];
    s1 += static_cast<uint32_t>(buf[i]) - drop;
    s2 += s1 - kWindow * (drop + kCharOffset);
    window[w] = buf[i];
    w = (w + 1) % kWindow;
    if ((s2 & kBlobMask) == kBlobMask) return i + 1;
  }
  return 0;
}

void RollsumMatches(const uint8_t* from, size_t from_len, const uint8_t* to, size_t to_len, RollsumResult* out) {
  std::vector<Chunk> fc = Chunks(from, from_len);
  std::vector<Chunk> tc = Chunks(to, to_len);
  std::unordered_map<uint32_t, std::vector<size_t>> by_key;
  for (size_t i = 0; i < fc.size(); i++) by_key[fc[i].key].push_back(i);
  std::unordered_set<uint32_t> keys_found;
  for (const Chunk& t : tc) {
    auto it = by_key.find(t.key);
    if (it == by_key.end()) continue;
    keys_found.insert(t.key);
    for (size_t j : it->second) {
      const Chunk& f = fc[j];
      if (f.len != t.len || std::memcmp(from + f.start, to + t.start, t.len) != 0) continue;
      out->bufmatches++;
      out->match_size += t.len;
      out->matches.push_back({t.len, t.start, f.start});
      break;
    }
  }
  out->crcmatches = static_cast<uint32_t>(keys_found.size());
  out->total = static_cast<uint32_t>(tc.size());
  // Chunks are visited in to-file order, so matches are already by to_start.
}

namespace {

class RollsumWorker : public PromiseWorker {
 public:
  RollsumWorker(Napi::Env env, Napi::Buffer<uint8_t> from, Napi::Buffer<uint8_t> to)
      : PromiseWorker(env, "ostree:rollsum_matches"),
        from_(from.Data()),
        from_len_(from.Length()),
        to_(to.Data()),
        to_len_(to.Length()),
        from_ref_(Napi::Persistent(static_cast<Napi::Object>(from))),
        to_ref_(Napi::Persistent(static_cast<Napi::Object>(to))) {}

  void Execute() override { RollsumMatches(from_, from_len_, to_, to_len_, &result_); }

  Napi::Value Resolve(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("crcmatches", Napi::Number::New(env, result_.crcmatches));
    o.Set("bufmatches", Napi::Number::New(env, result_.bufmatches));
    o.Set("total", Napi::Number::New(env, result_.total));
    o.Set("matchSize", Napi::Number::New(env, static_cast<double>(result_.match_size)));
    Napi::Float64Array m = Napi::Float64Array::New(env, result_.matches.size() * 3);
    for (size_t i = 0; i < result_.matches.size(); i++) {
      m[3 * i] = static_cast<double>(result_.matches[i].len);
      m[3 * i + 1] = static_cast<double>(result_.matches[i].to_start);
      m[3 * i + 2] = static_cast<double>(result_.matches[i].from_start);
    }
    o.Set("matches", m);
    return o;
  }

 private:
  const uint8_t* from_;
  size_t from_len_;
  const uint8_t* to_;
  size_t to_len_;
  Napi::ObjectReference from_ref_;
  Napi::ObjectReference to_ref_;
  RollsumResult result_;
};

}  // namespace

Napi::Value RollsumMatchesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || !info[1].IsBuffer()) {
    ThrowType(env, "from and to must be Buffers");
    return env.Undefined();
  }
  return PromiseWorker::Start(new RollsumWorker(env, info[0].As<Napi::Buffer<uint8_t>>(), info[1].As<Napi::Buffer<uint8_t>>()));
}

}  // namespace ostree
