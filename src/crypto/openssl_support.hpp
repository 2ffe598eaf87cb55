#pragma once
// What every OpenSSL wrapper in src/crypto needs around its calls. Private to src/crypto.
#include <openssl/err.h>

#include <span>
#include <stdexcept>
#include <string>

namespace observernet::crypto {

// For failures no input can cause (allocation, a missing algorithm). The error queue is
// cleared so that it cannot surface in a later, unrelated call on this thread.
[[noreturn]] inline void throw_openssl(const char* what) {
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
}

// Several OpenSSL entry points read nothing when the length is zero but still reject a
// null pointer.
inline const unsigned char* data_or_empty(std::span<const unsigned char> bytes) {
  static const unsigned char kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

}  // namespace observernet::crypto
