#include "vmount/errors.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace cairn::vmount {
namespace {
// The errnos FsError may carry that the Code alone does not name.
constexpr int kDistinct[] = {ENOTEMPTY, ENOTDIR, EISDIR, ENODATA, ERANGE, EXDEV, ELOOP,
                             ENAMETOOLONG, EBUSY, EMLINK, EFBIG, EBADF, EROFS, EEXIST,
                             EINVAL, ENOENT, EPERM, EACCES, ENOSPC, EOPNOTSUPP, E2BIG, ENOSYS,
                             ENXIO};
}  // namespace

Status FsError(int err, std::string_view operation, std::string_view subject) {
  std::string msg = std::string(operation) + " " + std::string(subject) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return Status::NotFound(std::move(msg));
    case EEXIST: case ENOTEMPTY: return Status::AlreadyExists(std::move(msg));
    case EACCES: case EPERM: return Status::PermissionDenied(std::move(msg));
    case ENOSPC: return Status::NoSpace(std::move(msg));
    case EOPNOTSUPP: case ENOSYS: case EXDEV: return Status::NotSupported(std::move(msg));
    case EBUSY: return Status::Busy(std::move(msg));
    case EIO: return Status::IOError(std::move(msg));
    default: return Status::InvalidArgument(std::move(msg));
  }
}

int ToErrno(const Status& s) {
  const std::string& m = s.message();
  for (int err : kDistinct) {
    std::string_view text = std::strerror(err);
    if (m.size() > text.size() + 2 && std::string_view(m).ends_with(text) &&
        m.compare(m.size() - text.size() - 2, 2, ": ") == 0) {
      return err;
    }
  }
  switch (s.code()) {
    case Code::kNotFound: return ENOENT;
    case Code::kAlreadyExists: return EEXIST;
    case Code::kInvalidArgument: return EINVAL;
    case Code::kPermissionDenied: return EACCES;
    case Code::kNoSpace: return ENOSPC;
    case Code::kNotSupported: return EOPNOTSUPP;
    case Code::kBusy: return EBUSY;
    default: return EIO;  // corruption, I/O, internal: the read or write failed
  }
}

}  // namespace cairn::vmount
