#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace cairn {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAmbiguous: return "ambiguous";
    case Code::kCorruption: return "corruption";
    case Code::kIOError: return "I/O error";
    case Code::kNoSpace: return "no space";
    case Code::kBusy: return "busy";
    case Code::kAlreadyExists: return "already exists";
    case Code::kNotSupported: return "not supported";
    case Code::kPermissionDenied: return "permission denied";
    case Code::kInternal: return "internal error";
    case Code::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

Status::Status(Code code, std::string message) {
  if (code != Code::kOk) state_ = std::make_unique<State>(State{code, std::move(message)});
}

Status::Status(const Status& other)
    : state_(other.state_ ? std::make_unique<State>(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_ = other.state_ ? std::make_unique<State>(*other.state_) : nullptr;
  return *this;
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->message : kEmpty;
}

std::string Status::ToString() const { return ok() ? "OK" : state_->message; }

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  return Status(state_->code, std::string(context) + ": " + state_->message);
}

Status ErrnoStatus(std::string_view operation, std::string_view subject, int err) {
  std::string msg(operation);
  if (!subject.empty()) {
    msg += ' ';
    msg += subject;
  }
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT: return Status::NoSpace(std::move(msg));
    case ENOENT: return Status::NotFound(std::move(msg));
    case EACCES:
    case EPERM: return Status::PermissionDenied(std::move(msg));
    default: return Status::IOError(std::move(msg));
  }
}

}  // namespace cairn
