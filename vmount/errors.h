// File-system errors as Status, and back: the one place where vmount turns a Status into the
// errno a FUSE reply carries.
//
// MutableTree reports POSIX conditions (ENOTEMPTY, EISDIR, ENODATA...) that the Code enum does
// not distinguish. FsError builds "operation subject: strerror(err)" with the nearest Code;
// ToErrno recovers `err` from that message, and otherwise maps the Code.
#ifndef CAIRN_VMOUNT_ERRORS_H_
#define CAIRN_VMOUNT_ERRORS_H_

#include <string_view>

#include "base/status.h"

namespace cairn::vmount {

// REQUIRES: err != 0.
Status FsError(int err, std::string_view operation, std::string_view subject);
// A positive errno for `s`. REQUIRES: !s.ok().
int ToErrno(const Status& s);

}  // namespace cairn::vmount

#endif  // CAIRN_VMOUNT_ERRORS_H_
