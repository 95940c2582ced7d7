// suffix_array.cc: see suffix_array.h. The text has a virtual sentinel
// (smaller than every character) after its end: the last position is L-type,
// the last LMS substring runs into the sentinel (so it equals no other), and
// inducing L-types starts from the sentinel's predecessor.
#include "suffix_array.h"

#include <algorithm>
#include <new>
#include <vector>

namespace ostree {

namespace {

// One bit per position: S-type (true) or L-type (false).
class TypeBits {
 public:
  explicit TypeBits(int32_t n) : words_((static_cast<size_t>(n) + 63) / 64, 0) {}
  void Set(int32_t i, bool s) {
    uint64_t bit = uint64_t{1} << (i & 63);
    if (s)
      words_[i >> 6] |= bit;
    else
      words_[i >> 6] &= ~bit;
  }
  bool S(int32_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }

 private:
  std::vector<uint64_t> words_;
};

template <typename Char>
void BucketBounds(const Char* s, int32_t n, int32_t k, std::vector<int32_t>* bkt, bool ends) {
  std::fill(bkt->begin(), bkt->end(), 0);
  for (int32_t i = 0; i < n; i++) (*bkt)[s[i]]++;
  int32_t sum = 0;
  for (int32_t c = 0; c < k; c++) {
    sum += (*bkt)[c];
    (*bkt)[c] = ends ? sum : sum - (*bkt)[c];
  }
}

template <typename Char>
void InduceL(const Char* s, int32_t* sa, int32_t n, int32_t k, const TypeBits& t, std::vector<int32_t>* bkt) {
  BucketBounds(s, n, k, bkt, false);
  sa[(*bkt)[s[n - 1]]++] = n - 1;  // induced by the sentinel
  for (int32_t i = 0; i < n; i++) {
    int32_t j = sa[i] - 1;
    if (sa[i] > 0 && !t.S(j)) sa[(*bkt)[s[j]]++] = j;
  }
}

template <typename Char>
void InduceS(const Char* s, int32_t* sa, int32_t n, int32_t k, const TypeBits& t, std::vector<int32_t>* bkt) {
  BucketBounds(s, n, k, bkt, true);
  for (int32_t i = n - 1; i >= 0; i--) {
    int32_t j = sa[i] - 1;
    if (sa[i] > 0 && t.S(j)) sa[--(*bkt)[s[j]]] = j;
  }
}

// Suffix array of s[0..n), characters in [0, k). sa has n entries.
template <typename Char>
void Sais(const Char* s, int32_t* sa, int32_t n, int32_t k) {
  if (n == 0) return;
  if (n == 1) {
    sa[0] = 0;
    return;
  }
  TypeBits t(n);
  t.Set(n - 1, false);
  for (int32_t i = n - 2; i >= 0; i--) t.Set(i, s[i] < s[i + 1] || (s[i] == s[i + 1] && t.S(i + 1)));
  auto is_lms = [&t](int32_t i) { return i > 0 && t.S(i) && !t.S(i - 1); };
  std::vector<int32_t> bkt(k);

  // Stage 1: sort the LMS substrings by inducing from LMS positions.
  BucketBounds(s, n, k, &bkt, true);
  std::fill(sa, sa + n, -1);
  for (int32_t i = 1; i < n; i++)
    if (is_lms(i)) sa[--bkt[s[i]]] = i;
  InduceL(s, sa, n, k, t, &bkt);
  InduceS(s, sa, n, k, t, &bkt);

  int32_t m = 0;
  for (int32_t i = 0; i < n; i++)
    if (sa[i] >= 0 && is_lms(sa[i])) sa[m++] = sa[i];
  if (m == 0) return;  // all L-type: inducing from the sentinel sorted everything

  // Name the LMS substrings (equal substrings share a name); the name of
  // the one at p goes to sa[m + p/2] (LMS positions are >= 2 apart).
  auto equal_lms = [&](int32_t a, int32_t b) {
    for (int32_t d = 0;; d++) {
      if (a + d == n || b + d == n) return false;  // one reached the sentinel
      if (s[a + d] != s[b + d] || t.S(a + d) != t.S(b + d)) return false;
      if (d > 0) {
        bool la = is_lms(a + d), lb = is_lms(b + d);
        if (la || lb) return la && lb;
      }
    }
  };
  std::fill(sa + m, sa + n, -1);
  int32_t names = 0;
  int32_t prev = -1;
  for (int32_t i = 0; i < m; i++) {
    int32_t p = sa[i];
    if (prev < 0 || !equal_lms(p, prev)) {
      names++;
      prev = p;
    }
    sa[m + p / 2] = names - 1;
  }
  for (int32_t i = n - 1, j = n - 1; i >= m; i--)
    if (sa[i] >= 0) sa[j--] = sa[i];

  // Stage 2: order the LMS suffixes (recursively when names repeat).
  int32_t* s1 = sa + n - m;
  if (names < m) {
    Sais<int32_t>(s1, sa, m, names);
  } else {
    for (int32_t i = 0; i < m; i++) sa[s1[i]] = i;
  }

  // Stage 3: induce the whole array from the sorted LMS suffixes.
  for (int32_t i = 1, j = 0; i < n; i++)
    if (is_lms(i)) s1[j++] = i;
  for (int32_t i = 0; i < m; i++) sa[i] = s1[sa[i]];
  std::fill(sa + m, sa + n, -1);
  BucketBounds(s, n, k, &bkt, true);
  for (int32_t i = m - 1; i >= 0; i--) {
    int32_t j = sa[i];
    sa[i] = -1;
    sa[--bkt[s[j]]] = j;
  }
  InduceL(s, sa, n, k, t, &bkt);
  InduceS(s, sa, n, k, t, &bkt);
}

}  // namespace

bool BuildSuffixArray(const uint8_t* text, size_t n, int32_t* sa) {
  if (n > kMaxSuffixArrayInput) return false;
  try {
    Sais<uint8_t>(text, sa, static_cast<int32_t>(n), 256);
  } catch (const std::bad_alloc&) {
    return false;
  }
  return true;
}

}  // namespace ostree
