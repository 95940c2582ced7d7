// sha256.cc: see sha256.h.
#include "sha256.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define OSTREE_SHA_NI 1
#endif

namespace ostree {

namespace {

constexpr uint32_t kRound[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

constexpr uint32_t kInitial[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline uint32_t LoadBe32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// FIPS 180-4 §6.2.2, one 64-byte block at a time, with a 16-word rolling
// message schedule.
void BlocksPortable(uint32_t state[8], const uint8_t* p, size_t n) {
  for (; n > 0; n--, p += 64) {
    uint32_t w[16];
    for (int i = 0; i < 16; i++) w[i] = LoadBe32(p + 4 * i);
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int t = 0; t < 64; t++) {
      uint32_t wt;
      if (t < 16) {
        wt = w[t];
      } else {
        uint32_t w2 = w[(t - 2) & 15], w15 = w[(t - 15) & 15];
        uint32_t s0 = Rotr(w15, 7) ^ Rotr(w15, 18) ^ (w15 >> 3);
        uint32_t s1 = Rotr(w2, 17) ^ Rotr(w2, 19) ^ (w2 >> 10);
        wt = w[t & 15] = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
      }
      uint32_t t1 = h + (Rotr(e, 6) ^ Rotr(e, 11) ^ Rotr(e, 25)) + ((e & f) ^ (~e & g)) + kRound[t] + wt;
      uint32_t t2 = (Rotr(a, 2) ^ Rotr(a, 13) ^ Rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    state[0] += a; state[1] += b; state[2] += c; state[3] += d;
    state[4] += e; state[5] += f; state[6] += g; state[7] += h;
  }
}

#ifdef OSTREE_SHA_NI
// The SHA extensions keep the eight working variables as two vectors, lanes
// (low to high) {F,E,B,A} and {H,G,D,C}; each SHA256RNDS2 does two rounds and
// SHA256MSG1/MSG2 extend the message schedule four words at a time.
__attribute__((target("sha,sse4.1,ssse3"))) void BlocksShaNi(uint32_t state[8], const uint8_t* p, size_t n) {
  const __m128i kByteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4));
  abcd = _mm_shuffle_epi32(abcd, 0xB1);                       // B A D C
  efgh = _mm_shuffle_epi32(efgh, 0x1B);                       // H G F E
  __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);              // F E B A
  __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);           // H G D C

  for (; n > 0; n--, p += 64) {
    const __m128i saved_abef = abef, saved_cdgh = cdgh;
    __m128i w[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
      w[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), kByteSwap);
    }
    // Fully unrolled so w[] lives in registers.
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
      if (g >= 4) {
        // W[4g..4g+3] from W[4g-16..4g-1], held in w[g&3], w[(g+1)&3], w[(g+2)&3], w[(g+3)&3].
        __m128i x = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
        x = _mm_add_epi32(x, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
        w[g & 3] = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
      }
      __m128i wk = _mm_add_epi32(w[g & 3], _mm_loadu_si128(reinterpret_cast<const __m128i*>(kRound + 4 * g)));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);          // rounds 4g, 4g+1: new ABEF in cdgh
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
    }
    abef = _mm_add_epi32(abef, saved_abef);
    cdgh = _mm_add_epi32(cdgh, saved_cdgh);
  }

  __m128i feba = _mm_shuffle_epi32(abef, 0x1B);               // A B E F
  __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);               // G H C D
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_blend_epi16(feba, dchg, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_alignr_epi8(dchg, feba, 8));
}
#endif

bool DetectShaNi() {
#ifdef OSTREE_SHA_NI
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = c & (1u << 9), sse41 = c & (1u << 19);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool sha = b & (1u << 29);
  return ssse3 && sse41 && sha;
#else
  return false;
#endif
}

Sha256::BlockFn Resolve(Sha256Impl impl) {
#ifdef OSTREE_SHA_NI
  if (impl == Sha256Impl::kShaNi && Sha256HaveShaNi()) return BlocksShaNi;
  if (impl == Sha256Impl::kAuto && Sha256Selected() == Sha256Impl::kShaNi) return BlocksShaNi;
#endif
  return BlocksPortable;
}

}  // namespace

bool Sha256HaveShaNi() {
  static const bool have = DetectShaNi();
  return have;
}

Sha256Impl Sha256Selected() {
  static const Sha256Impl selected = [] {
    const char* env = std::getenv("NODE_OSTREE_SHA256");
    if (env && std::strcmp(env, "portable") == 0) return Sha256Impl::kPortable;
    return Sha256HaveShaNi() ? Sha256Impl::kShaNi : Sha256Impl::kPortable;
  }();
  return selected;
}

Sha256::Sha256(Sha256Impl impl) : blocks_(Resolve(impl)) { Reset(); }

bool Sha256::Reset() {
  std::memcpy(state_, kInitial, sizeof state_);
  length_ = 0;
  buffered_ = 0;
  return true;
}

bool Sha256::Update(const void* data, size_t size) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  length_ += size;
  if (buffered_ > 0) {
    size_t take = 64 - buffered_ < size ? 64 - buffered_ : size;
    std::memcpy(buf_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    size -= take;
    if (buffered_ < 64) return true;
    blocks_(state_, buf_, 1);
    buffered_ = 0;
  }
  if (size >= 64) {
    blocks_(state_, p, size / 64);
    p += size & ~size_t{63};
    size &= 63;
  }
  if (size > 0) {
    std::memcpy(buf_, p, size);
    buffered_ = size;
  }
  return true;
}

void Sha256::Finish(uint8_t out[32]) {
  // Padding: 0x80, zeros to 56 mod 64, then the length in bits, big-endian.
  const uint64_t bits = length_ * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (buffered_ < 56 ? 56 : 120) - buffered_;
  for (int i = 0; i < 8; i++) pad[padlen + i] = static_cast<uint8_t>(bits >> (56 - 8 * i));
  Update(pad, padlen + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = static_cast<uint8_t>(state_[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(state_[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(state_[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(state_[i]);
  }
}

std::string Sha256::FinishHex() {
  uint8_t md[32];
  Finish(md);
  std::string hex(64, '0');
  ChecksumHexTo(reinterpret_cast<const char*>(md), &hex[0]);
  return hex;
}

void ChecksumHexTo(const char* raw, char* out) {
  static const char kDigits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    uint8_t b = static_cast<uint8_t>(raw[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
}

void AppendChecksumHex(const char* raw, std::string* out) {
  char hex[64];
  ChecksumHexTo(raw, hex);
  out->append(hex, 64);
}

}  // namespace ostree
