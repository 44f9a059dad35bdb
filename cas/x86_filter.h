// The x86 branch filter: a reversible transform of x86 machine code that makes it compress
// better. Relative branch targets and RIP-relative displacements become absolute offsets
// (within the object), so that the many calls to one function carry the same four bytes
// (docs/format/store.md, codec 2). Only applied to the contents of x86 ELF files.
#ifndef CAIRN_CAS_X86_FILTER_H_
#define CAIRN_CAS_X86_FILTER_H_

#include <cstddef>
#include <string_view>

namespace cairn::cas {

// Transforms `data` in place (same length). X86Unfilter(X86Filter(x)) == x for every x.
void X86Filter(char* data, size_t size);
void X86Unfilter(char* data, size_t size);

// Whether content starting with `head` is an x86 or x86-64 ELF file (little-endian, e_machine
// EM_386 or EM_X86_64): the contents the filter is for.
bool IsX86Elf(std::string_view head);

}  // namespace cairn::cas

#endif  // CAIRN_CAS_X86_FILTER_H_
