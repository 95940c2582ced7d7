// sha256.{h,cc}: SHA-256 through OpenSSL's EVP interface. The symbols come
// from the host process (Node links OpenSSL statically and exports it); the
// headers are Node's own (node-gyp puts include/node on the path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ostree {

// A 32-byte checksum as 64 lowercase hex characters, written to `out`.
void ChecksumHexTo(const char* raw, char* out);
// The same, appended to `out`.
void AppendChecksumHex(const char* raw, std::string* out);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  bool ok() const { return ctx_ != nullptr; }
  bool Reset();
  bool Update(const void* data, size_t size);
  // 64 lowercase hex characters; "" on failure.
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX*
};

}  // namespace ostree
