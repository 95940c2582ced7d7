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
  static const char kHex[] = "0123456789abcdef";
  std::string hex(64, '0');
  for (unsigned i = 0; i < 32; i++) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 15];
  }
  return hex;
}

}  // namespace ostree
