// Status: the one error currency of cairn.
//
// An ok Status is a null pointer and costs nothing to copy or return. An error carries a Code and
// a message of the form "operation subject: detail", e.g.
// "read blob 3fa1c2d0: checksum mismatch".
//
// Thread-safety: a Status is a value; distinct objects may be used from distinct threads.
#ifndef CAIRN_BASE_STATUS_H_
#define CAIRN_BASE_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

namespace cairn {

// Error categories. Numbers are stable: tools/ maps them to documented exit codes.
enum class Code : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input from the user: malformed id, bad option, bad path
  kNotFound = 2,         // unknown id, image, version, file
  kAmbiguous = 3,        // an id prefix that matches more than one object
  kCorruption = 4,       // stored bytes do not match their id, or undecodable data
  kIOError = 5,          // the operating system refused (other than the cases below)
  kNoSpace = 6,          // the disk is full
  kBusy = 7,             // another process holds the repository
  kAlreadyExists = 8,
  kNotSupported = 9,
  kPermissionDenied = 10,
  kInternal = 11,   // a bug in cairn
  kCancelled = 12,  // the command was interrupted (base/interrupt.h)
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message);
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Ambiguous(std::string msg) { return {Code::kAmbiguous, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status NoSpace(std::string msg) { return {Code::kNoSpace, std::move(msg)}; }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {Code::kAlreadyExists, std::move(msg)}; }
  static Status NotSupported(std::string msg) { return {Code::kNotSupported, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {Code::kInternal, std::move(msg)}; }

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  // The message without the code name; empty when ok.
  const std::string& message() const;
  // "OK", or the message (the code is not repeated: messages already say what failed).
  std::string ToString() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }

  // Returns a copy whose message is prefixed with "context: ".
  Status WithContext(std::string_view context) const;

 private:
  struct State {
    Code code;
    std::string message;
  };
  std::unique_ptr<State> state_;
};

// Converts errno (from a failed system call on `subject`) to a Status:
// "operation subject: strerror". ENOSPC/EDQUOT become kNoSpace, ENOENT kNotFound,
// EACCES/EPERM kPermissionDenied, the rest kIOError.
Status ErrnoStatus(std::string_view operation, std::string_view subject, int err);

}  // namespace cairn

#define CAIRN_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::cairn::Status _cairn_st = (expr);    \
    if (!_cairn_st.ok()) return _cairn_st; \
  } while (0)

#endif  // CAIRN_BASE_STATUS_H_
