// sha256.cc: see sha256.h.
#include "sha256.h"

#include <openssl/evp.h>

namespace ostree {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { Reset(); }

Sha256::~Sha256() {
  if (ctx_) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

bool Sha256::Reset() {
  return ctx_ && EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_),
                                   EVP_sha256(), nullptr) == 1;
}

bool Sha256::Update(const void* data, size_t size) {
  return size == 0 ||
         EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size) == 1;
}

std::string Sha256::FinishHex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &len) != 1 ||
      len != 32) {
    return std::string();
  }
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
