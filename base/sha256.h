// Incremental SHA-256 through OpenSSL EVP (uses the CPU's SHA extensions where present).
//
// Thread-safety: one Sha256 per thread; distinct objects are independent.
#ifndef CAIRN_BASE_SHA256_H_
#define CAIRN_BASE_SHA256_H_

#include <string_view>

#include "base/object_id.h"

typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace cairn {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  void Update(const void* data, size_t n);
  // Returns the digest and resets the object for reuse.
  ObjectId Finish();

  static ObjectId Of(std::string_view data);

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace cairn

#endif  // CAIRN_BASE_SHA256_H_
