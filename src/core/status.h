#pragma once
// The one error model of medvault: a [[nodiscard]] Status with a small set of codes, and Result<T>
// holding either a value or a non-OK Status. No exception crosses a module boundary; adapters around
// third-party libraries catch theirs and return a Status.
//
// Thread-safety: values; safe to copy and share like any std::string-holding type.

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace medvault {

enum class Code {
  kOk = 0,
  kInvalidArgument,    // the caller's input is wrong (HTTP 400, CLI exit 1)
  kNotFound,           // absent, or outside the caller's scope (404)
  kAlreadyExists,      // unique key taken (409)
  kUnauthenticated,    // no or bad credentials (401)
  kPermissionDenied,   // authenticated but not allowed (403)
  kSuspended,          // the guard contained the account or source (403 "suspended")
  kLocked,             // a contained account trying to log in (423)
  kResourceExhausted,  // throttled (429)
  kFailedPrecondition, // the state does not allow it (409)
  kIntegrity,          // verification found tampering; decryption failed (CLI exit 3)
  kUnavailable,        // transient: busy, shutting down (503)
  kInternal,           // a broken invariant or an I/O failure (500, CLI exit 2)
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  // Never holds a patient field: messages name fields and entries, not their values.
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status IntegrityError(std::string m) { return {Code::kIntegrity, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // REQUIRES: !ok() for a meaningful status; returns OK when a value is held.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  // REQUIRES: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace medvault

#define MV_CONCAT_INNER(a, b) a##b
#define MV_CONCAT(a, b) MV_CONCAT_INNER(a, b)

#define MV_RETURN_IF_ERROR_IMPL(tmp, expr) \
  do {                                     \
    ::medvault::Status tmp = (expr);       \
    if (!tmp.ok()) return tmp;             \
  } while (0)
#define MV_RETURN_IF_ERROR(expr) MV_RETURN_IF_ERROR_IMPL(MV_CONCAT(mv_status_, __LINE__), expr)

#define MV_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

#define MV_ASSIGN_OR_RETURN(lhs, expr) \
  MV_ASSIGN_OR_RETURN_IMPL(MV_CONCAT(mv_result_, __LINE__), lhs, expr)
