// Result<T>: a value or an error Status. Its interface is a subset of std::expected<T, Status>
// (has_value, operator bool, value, error, operator*, operator->), so it can become that type
// when the project moves to C++23.
#ifndef CAIRN_BASE_RESULT_H_
#define CAIRN_BASE_RESULT_H_

#include <cassert>
#include <utility>
#include <variant>

#include "base/status.h"

namespace cairn {

template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok().
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design

  bool has_value() const { return v_.index() == 1; }
  explicit operator bool() const { return has_value(); }

  // REQUIRES: has_value().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !has_value().
  const Status& error() const& { return std::get<Status>(v_); }
  Status error() && { return std::get<Status>(std::move(v_)); }

  // Ok when a value is held: convenient for code that only propagates.
  Status status() const { return has_value() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace cairn

#define CAIRN_CONCAT_INNER_(a, b) a##b
#define CAIRN_CONCAT_(a, b) CAIRN_CONCAT_INNER_(a, b)
#define CAIRN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.has_value()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
// CAIRN_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error from the enclosing function.
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL_(CAIRN_CONCAT_(_cairn_res_, __LINE__), lhs, expr)

#endif  // CAIRN_BASE_RESULT_H_
