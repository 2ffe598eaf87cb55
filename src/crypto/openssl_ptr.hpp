#pragma once
// Owning pointers to OpenSSL objects, each freed by its own *_free function. Private to
// src/crypto (and the crypto unit tests, which check results with stock OpenSSL).
#include <memory>

namespace observernet::crypto {

template <auto Free>
struct FreeWith {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

// OpensslPtr<EVP_PKEY, EVP_PKEY_free>
template <class T, auto Free>
using OpensslPtr = std::unique_ptr<T, FreeWith<Free>>;

}  // namespace observernet::crypto
