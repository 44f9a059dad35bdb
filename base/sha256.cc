#include "base/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace cairn {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure or a missing digest is unrecoverable for a content-addressed store.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
void Sha256::Update(std::string_view data) { Update(data.data(), data.size()); }

ObjectId Sha256::Finish() {
  std::array<uint8_t, ObjectId::kSize> out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
  EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
  return ObjectId(out);
}

ObjectId Sha256::Of(std::string_view data) {
  thread_local Sha256 h;
  h.Update(data);
  return h.Finish();
}

}  // namespace cairn
