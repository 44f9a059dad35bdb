// The libguestfs functions the disk source uses, loaded at run time with dlopen: linking
// libguestfs pulls 60 shared libraries (libvirt, glib, gnutls...) into every cairn command and
// cost 45 ms at each start, while only a checkin through the appliance needs them.
//
// Thread-safety: Load may be called from any thread; the table it returns is immutable.
#ifndef CAIRN_INDEXER_GUESTFS_API_H_
#define CAIRN_INDEXER_GUESTFS_API_H_

#include <guestfs.h>

#include "base/result.h"

namespace cairn::indexer {

struct GuestfsApi {
  decltype(&guestfs_create) create;
  decltype(&guestfs_close) close;
  decltype(&guestfs_shutdown) shutdown;
  decltype(&guestfs_last_error) last_error;
  decltype(&guestfs_set_error_handler) set_error_handler;
  decltype(&guestfs_set_backend) set_backend;
  decltype(&guestfs_set_backend_setting) set_backend_setting;
  decltype(&guestfs_add_drive_opts_argv) add_drive_opts_argv;
  decltype(&guestfs_launch) launch;
  decltype(&guestfs_blockdev_getsize64) blockdev_getsize64;
  decltype(&guestfs_pread_device) pread_device;
  decltype(&guestfs_mount_ro) mount_ro;
  decltype(&guestfs_umount_all) umount_all;
  decltype(&guestfs_tar_out_opts_argv) tar_out_opts_argv;
  decltype(&guestfs_inspect_os) inspect_os;
  decltype(&guestfs_inspect_get_mountpoints) inspect_get_mountpoints;
  decltype(&guestfs_statvfs) statvfs;
  decltype(&guestfs_free_statvfs) free_statvfs;
  decltype(&guestfs_lstatnslist) lstatnslist;
  decltype(&guestfs_free_statns_list) free_statns_list;

  // The table, loaded once from libguestfs.so.0. NotSupported naming the library and the
  // package to install (libguestfs0) when it or one of the functions is missing.
  static Result<const GuestfsApi*> Load();
};

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_GUESTFS_API_H_
