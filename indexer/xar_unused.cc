// The libxml2 functions libarchive's xar writer calls, for the static link (CAIRN_STATIC_DEPS),
// which then needs neither libxml2 nor ICU.
//
// libarchive.a names every format writer from one table (archive_write_set_format.o), and the pax
// writer cairn uses (indexer/tar_sink.cc) pulls that object in for a helper it shares. The table
// pulls the xar writer, the xar writer libxml2's text writer, and libxml2 ICU, whose 31 MB of data
// sat between the executable's hot read-only data and the rest: a cold start read 8 MiB windows
// of it (a cold incremental checkin read 32 MB of the executable, 20 MB without it). cairn never
// selects xar, for writing or reading (tar_source.cc leaves the xar reader out), so these are
// never called; each aborts, naming itself, if that ever changes.
#include <cstdio>
#include <cstdlib>

namespace {
[[noreturn]] void XarUnused(const char* function) {
  std::fprintf(stderr,
               "cairn: internal error: libarchive's xar writer called %s, which this "
               "build leaves out (indexer/xar_unused.cc)\n",
               function);
  std::abort();
}
}  // namespace

// Only the names matter to the linker; no caller in cairn sees these declarations. Hidden, so
// that they never stand in for the real ones in a library loaded at run time (libguestfs, which
// cairn dlopens, uses libxml2).
#define CAIRN_XAR_UNUSED(name) \
  extern "C" __attribute__((visibility("hidden"))) void name() { XarUnused(#name); }
CAIRN_XAR_UNUSED(UTF8Toisolat1)
CAIRN_XAR_UNUSED(xmlBufferCreate)
CAIRN_XAR_UNUSED(xmlBufferFree)
CAIRN_XAR_UNUSED(xmlFreeTextWriter)
CAIRN_XAR_UNUSED(xmlNewTextWriterMemory)
CAIRN_XAR_UNUSED(xmlTextWriterEndDocument)
CAIRN_XAR_UNUSED(xmlTextWriterEndElement)
CAIRN_XAR_UNUSED(xmlTextWriterSetIndent)
CAIRN_XAR_UNUSED(xmlTextWriterStartDocument)
CAIRN_XAR_UNUSED(xmlTextWriterStartElement)
CAIRN_XAR_UNUSED(xmlTextWriterWriteAttribute)
CAIRN_XAR_UNUSED(xmlTextWriterWriteBase64)
CAIRN_XAR_UNUSED(xmlTextWriterWriteFormatAttribute)
CAIRN_XAR_UNUSED(xmlTextWriterWriteString)
