#include "observernet/error.hpp"

#include <array>

namespace observernet {
namespace {

constexpr std::array<std::string_view, kErrorCodeCount> kCodes{
    "bad_request",       "validation_failed",   "unauthorized",        "forbidden",
    "not_found",         "precondition_failed", "election_not_draft",  "election_not_open",
    "election_closed",   "no_voters",           "invalid_credentials", "token_already_issued",
    "invalid_token",     "invalid_ballot",      "token_already_used",  "results_not_available",
    "too_many_requests", "internal_error",      "service_unavailable",
};

}  // namespace

std::string_view to_string(ErrorCode code) {
  const auto index = static_cast<std::size_t>(code);
  return index < kCodes.size() ? kCodes[index] : "internal_error";
}

Error::Error(ErrorCode code, std::string detail, std::vector<FieldError> errors,
             std::string log_detail)
    : std::runtime_error(detail),
      code_(code),
      detail_(std::move(detail)),
      errors_(std::move(errors)),
      log_detail_(std::move(log_detail)) {}

void FieldErrors::add(std::string field, std::string message) {
  ++total_;
  if (listed_.size() < max_listed_) listed_.push_back({std::move(field), std::move(message)});
}

void FieldErrors::throw_if_any(ErrorCode code, std::string detail) {
  if (total_ == 0) return;
  if (detail.empty()) {
    detail = std::to_string(total_) + (total_ == 1 ? " field is" : " fields are") + " invalid";
    if (listed_.size() < total_) {
      detail += " (the first " + std::to_string(listed_.size()) + " are listed)";
    }
  }
  throw Error(code, std::move(detail), std::move(listed_));
}

std::exception_ptr copy_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const Error& e) {
    // Made anew, not copied: a copy would share its message with the original
    // (std::runtime_error's reference-counted string).
    Error copy(e.code(), e.detail(), e.field_errors(), e.log_detail());
    for (const auto& [name, value] : e.headers()) copy.with_header(name, value);
    return std::make_exception_ptr(std::move(copy));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(std::runtime_error(e.what()));
  } catch (...) {
    return std::make_exception_ptr(std::runtime_error("unknown error"));
  }
}

bool is_unavailable(const std::exception& error) noexcept {
  const auto* e = dynamic_cast<const Error*>(&error);
  return e != nullptr && e->code() == ErrorCode::service_unavailable;
}

bool is_unavailable(const std::exception_ptr& error) noexcept {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return is_unavailable(e);
  } catch (...) {
    return false;
  }
}

}  // namespace observernet
