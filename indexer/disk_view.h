// The view Tree of a Disk (docs/format/disk.md): the root filesystem with the others grafted at
// their mount points, and the mount points themselves when no inspection gave them.
#ifndef CAIRN_INDEXER_DISK_VIEW_H_
#define CAIRN_INDEXER_DISK_VIEW_H_

#include <optional>
#include <string>
#include <vector>

#include "cas/disk.h"
#include "cas/ingestor.h"

namespace cairn::indexer {

// A mount point as the view takes it, whichever path found it (fstab, or libguestfs's
// inspection): "/", or "/" and safe names (cas::IsSafeName: no "", ".", ".." or '/') joined by
// '/', repeated and trailing slashes dropped. nullopt for any other (relative, "/boot/.",
// "/a/../b").
std::optional<std::string> SafeMountpoint(const std::string& path);

// Sets the mount points of `disk`'s filesystems from the root filesystem's /etc/fstab (UUID=,
// LABEL=, PARTUUID=, /dev/[shv]daN, /dev/VG/LV and /dev/mapper/VG-LV sources). The root filesystem
// is the one libguestfs's inspection takes (the first, in the Disk's order, holding a directory
// etc, a directory bin or a link bin -> usr/bin, and a file etc/fstab or etc/hosts, and no GRUB
// configuration at grub/ or grub2/), else the only one, else the first holding etc/fstab.
// Filesystems already given a mount point keep it; so does a root given "/" by inspection.
// Of two lines of one mount point the later one's filesystem is mounted (as mount stacks it on
// top). A source that names several filesystems (two of one UUID or label) mounts none of them:
// which one the OS would mount is not in the image. Returns what the user is warned of (without
// the image's name): each such fstab line, naming the filesystems, and several OS roots, naming
// them and the one taken.
// REQUIRES: every filesystem Tree is readable from ingestor->store().
Result<std::vector<std::string>> AssignMountpoints(cas::Ingestor* ingestor, cas::Disk* disk);

// Builds and stores the view Tree and sets disk->view. Mount points whose parent directories
// are missing in the tree beneath are created (mode 0755, owner 0:0, mtime 0), as the OS
// would need them anyway. A filesystem grafted at or beneath another's mount point hides what
// lies there (of two at one mount point, the later in the Disk's order is seen), its hard links
// too: every hard-link group of the view names entries that are in it. With no filesystem mounted
// at "/", the view is an empty directory holding each filesystem at /<partition number> or
// /<VG>/<LV>.
Status BuildView(cas::Ingestor* ingestor, cas::Disk* disk);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_VIEW_H_
