// sha256.{h,cc}: SHA-256 (FIPS 180-4), our own code: a portable C++ block
// function plus, on x86-64, one using the SHA extensions (SHA-NI), chosen once
// per process from CPUID. NODE_OSTREE_SHA256=portable forces the portable one
// (tests and benchmarks compare both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ostree {

// A 32-byte checksum as 64 lowercase hex characters, written to `out`.
void ChecksumHexTo(const char* raw, char* out);
// The same, appended to `out`.
void AppendChecksumHex(const char* raw, std::string* out);

// Which block function hashes: kAuto follows CPUID (and the environment).
enum class Sha256Impl { kAuto, kPortable, kShaNi };

// True when this CPU (and build) can run the SHA-NI block function.
bool Sha256HaveShaNi();
// The implementation kAuto resolves to in this process.
Sha256Impl Sha256Selected();

class Sha256 {
 public:
  explicit Sha256(Sha256Impl impl = Sha256Impl::kAuto);
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  bool ok() const { return true; }
  bool Reset();
  bool Update(const void* data, size_t size);
  // The 32-byte digest into `out`; the object must be Reset() before reuse.
  void Finish(uint8_t out[32]);
  // 64 lowercase hex characters.
  std::string FinishHex();

  using BlockFn = void (*)(uint32_t state[8], const uint8_t* blocks, size_t n);

 private:
  BlockFn blocks_;
  uint32_t state_[8];
  uint64_t length_ = 0;  // bytes hashed so far
  uint8_t buf_[64];
  size_t buffered_ = 0;
};

}  // namespace ostree
