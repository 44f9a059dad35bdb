// Small codecs for the on-disk formats (docs/format/): LEB128 varints, fixed-width little-endian
// integers and length-prefixed strings. Decoders never read past their input and return false
// on truncated or malformed data.
#ifndef CAIRN_BASE_CODING_H_
#define CAIRN_BASE_CODING_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {

void PutVarint64(std::string* dst, uint64_t v);
void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
// Varint length, then the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view s);
// Zig-zag signed varint.
void PutVarsint64(std::string* dst, int64_t v);

// Each Get* consumes from the front of *in. On failure *in is unspecified.
// Varints must be the shortest encoding of their value (as PutVarint64 writes them).
bool GetVarint64(std::string_view* in, uint64_t* v);
// A varint (PutVarint64) that must fit 32 bits.
bool GetVarint32(std::string_view* in, uint32_t* v);
bool GetFixed32(std::string_view* in, uint32_t* v);
bool GetFixed64(std::string_view* in, uint64_t* v);
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);
bool GetVarsint64(std::string_view* in, int64_t* v);
bool GetBytes(std::string_view* in, size_t n, std::string_view* s);
// The little-endian unsigned integer of `bytes` (1..8) bytes at `offset` of `b` (on-disk
// structures of other formats: partition tables, LVM labels). REQUIRES: offset + bytes <= b.size().
uint64_t DecodeLittleEndian(std::string_view b, size_t offset, int bytes);

}  // namespace cairn

#endif  // CAIRN_BASE_CODING_H_
