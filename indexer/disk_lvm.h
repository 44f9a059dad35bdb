// LVM2 inside a disk image, read in-process from the image's bytes (no device-mapper needed):
// the physical volume label, the volume group's current text metadata from the PV's metadata
// area, and that text's grammar; and, the other way, the text metadata that `vgcfgrestore`
// writes back for a Disk's volume group. Pure functions over a ReadAtFn, so the raw fast path and
// the libguestfs path (which reads the device in the appliance) find the same layout.
//
// Only linear logical volumes are read (one stripe per segment); thin pools and volumes,
// snapshots, mirrors, RAID, cache and VDO are refused as NotSupported, naming the volume.
#ifndef CAIRN_INDEXER_DISK_LVM_H_
#define CAIRN_INDEXER_DISK_LVM_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "cas/disk.h"
#include "indexer/disk_probe.h"

namespace cairn::indexer {

// A physical volume's label and header.
struct LvmPvLabel {
  std::string uuid;       // dashed, as in the text metadata ("aaaaaa-bbbb-...-000000")
  uint64_t pe_start = 0;  // bytes from the PV's start to its data area (extent 0)
  std::vector<std::pair<uint64_t, uint64_t>> mdas;  // metadata areas: offset, size (bytes)
};

// The label of a PV starting at `offset` of the disk, or nullopt when there is none.
// Corruption for a damaged label or header.
Result<std::optional<LvmPvLabel>> ReadPvLabel(const ReadAtFn& read, uint64_t offset);

// The current text metadata held in the metadata area (`mda`, PV-relative) of the PV at
// `offset`, or "" when the area holds none. Corruption for a damaged area: bad magic, a
// checksum of the area's header or of the text that does not match, text outside the area.
Result<std::string> ReadPvMetadata(const ReadAtFn& read, uint64_t offset, std::pair<uint64_t, uint64_t> mda);

// LVM's checksum of metadata (CRC-32, reflected polynomial 0xEDB88320, initial value 0xf597a6cf,
// no final inversion), over an area header's bytes 4..512 and over the text.
uint32_t LvmChecksum(std::string_view data);

// A volume group as its text metadata describes it. PVs are named as in the text ("pv0").
struct LvmVolumeGroup {
  struct Pv {
    std::string key, uuid;
    uint64_t pe_start = 0, pe_count = 0;  // pe_start in bytes
  };
  struct Segment {
    std::string pv;  // key of the PV
    uint64_t pe = 0, extents = 0;
  };
  struct Lv {
    std::string name, uuid;
    std::vector<Segment> segments;  // in logical order
  };
  std::string name, uuid;
  uint64_t seqno = 0;        // the newest copy of a group's metadata has the highest
  uint64_t extent_size = 0;  // bytes
  std::vector<Pv> pvs;
  std::vector<Lv> lvs;  // sorted by name
};

// Parses a volume group's text metadata. InvalidArgument for text that does not parse or lacks
// a required field; NotSupported for a logical volume that is not linear or not visible.
Result<LvmVolumeGroup> ParseVgMetadata(std::string_view text);

// Where a PV of a Disk lives when its group is written back: the device vgcfgrestore sees and its
// size in bytes.
struct LvmDevice {
  std::string path;
  uint64_t size = 0;
};
// The text metadata of `vg` for vgcfgrestore, with `devices` by partition number.
// REQUIRES: every PV of vg has an entry in devices.
std::string VgMetadataText(const cas::VolumeGroup& vg, const std::map<uint32_t, LvmDevice>& devices);

// Reads the volume groups of the physical volumes among `layout`'s partitions (contents kLvmPv):
// sets those partitions' content, layout->disk.volume_groups (volume contents not yet filled),
// and probes every logical volume into layout->volumes. A PV of no group is probed as kUnknown
// (stored as raw bytes). NotSupported for a group with a PV outside this disk or a volume that
// is not linear; Corruption for damaged labels or metadata.
Status ProbeVolumeGroups(const ReadAtFn& read, ProbedLayout* layout);

// Reads the bytes of a logical volume in logical order (zeros past its end).
ReadAtFn VolumeReader(const ReadAtFn& disk, const cas::Disk& layout, const cas::VolumeGroup& vg,
                      const cas::LogicalVolume& lv);

// The disk offset of a logical volume made of one segment, or nullopt when it has several.
std::optional<uint64_t> VolumeOffset(const cas::Disk& layout, const cas::VolumeGroup& vg,
                                     const cas::LogicalVolume& lv);

}  // namespace cairn::indexer

#endif  // CAIRN_INDEXER_DISK_LVM_H_
