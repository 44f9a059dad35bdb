#include "indexer/guestfs_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace cairn::indexer {
namespace {

constexpr const char* kLibrary = "libguestfs.so.0";

template <typename F>
bool Resolve(void* lib, const char* name, F* fn, std::string* missing) {
  *fn = reinterpret_cast<F>(::dlsym(lib, name));
  if (*fn == nullptr && missing->empty()) *missing = name;
  return *fn != nullptr;
}

Result<const GuestfsApi*> LoadOnce() {
  static GuestfsApi api;
  void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return Status::NotSupported(std::string("load ") + kLibrary + ": " + (why ? why : "not found") +
                                " (install the libguestfs0 package)");
  }
  std::string missing;
  Resolve(lib, "guestfs_create", &api.create, &missing);
  Resolve(lib, "guestfs_close", &api.close, &missing);
  Resolve(lib, "guestfs_shutdown", &api.shutdown, &missing);
  Resolve(lib, "guestfs_last_error", &api.last_error, &missing);
  Resolve(lib, "guestfs_set_error_handler", &api.set_error_handler, &missing);
  Resolve(lib, "guestfs_set_backend", &api.set_backend, &missing);
  Resolve(lib, "guestfs_set_backend_setting", &api.set_backend_setting, &missing);
  Resolve(lib, "guestfs_add_drive_opts_argv", &api.add_drive_opts_argv, &missing);
  Resolve(lib, "guestfs_launch", &api.launch, &missing);
  Resolve(lib, "guestfs_blockdev_getsize64", &api.blockdev_getsize64, &missing);
  Resolve(lib, "guestfs_pread_device", &api.pread_device, &missing);
  Resolve(lib, "guestfs_mount_ro", &api.mount_ro, &missing);
  Resolve(lib, "guestfs_umount_all", &api.umount_all, &missing);
  Resolve(lib, "guestfs_tar_out_opts_argv", &api.tar_out_opts_argv, &missing);
  Resolve(lib, "guestfs_inspect_os", &api.inspect_os, &missing);
  Resolve(lib, "guestfs_inspect_get_mountpoints", &api.inspect_get_mountpoints, &missing);
  Resolve(lib, "guestfs_statvfs", &api.statvfs, &missing);
  Resolve(lib, "guestfs_free_statvfs", &api.free_statvfs, &missing);
  Resolve(lib, "guestfs_lstatnslist", &api.lstatnslist, &missing);
  Resolve(lib, "guestfs_free_statns_list", &api.free_statns_list, &missing);
  if (!missing.empty()) {
    return Status::NotSupported(std::string("load ") + kLibrary + ": it has no " + missing);
  }
  return &api;  // the library stays loaded for the life of the process
}

}  // namespace

Result<const GuestfsApi*> GuestfsApi::Load() {
  static std::once_flag once;
  static Result<const GuestfsApi*> loaded = Status::Internal("libguestfs not loaded");
  std::call_once(once, [] { loaded = LoadOnce(); });
  return loaded;
}

}  // namespace cairn::indexer
