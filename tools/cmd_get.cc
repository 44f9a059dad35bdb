// cairn get ID [-o FILE]
#include <fmt/core.h>
#include <unistd.h>

#include <mutex>

#include "base/env.h"
#include "base/progress.h"
#include "base/thread_pool.h"
#include "cas/content_reader.h"
#include "indexer/output_file.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace cairn::tools {
namespace {

constexpr size_t kWriteBuffer = 1 << 20;
constexpr size_t kDirectWrite = 16 << 10;

Status GetTo(cas::Repository& repo, const std::string& id_text, const std::string& output) {
  CAIRN_ASSIGN_OR_RETURN(ObjectId id, ResolveObject(repo, id_text));
  // More readers than cores: each waits on a blob-file read part of the time.
  cas::ContentReader reader(repo.store(), 2 * ThreadPool::DefaultThreads());
  CAIRN_ASSIGN_OR_RETURN(cas::FileContent content, reader.Stat(id));
  Progress progress("get", content.size);
  if (output != "-") {
    // A file output is written to a new file beside its target (indexer/output_file.h: never
    // through a name planted there) and put in place only once every byte verified, so a
    // failed get never leaves a half-written FILE.
    CAIRN_ASSIGN_OR_RETURN(auto file, indexer::OutputFile::Create(output));
    auto out = WritableFileOnFd(output, file->fd());
    // A file takes each chunk at its offset from the thread that read and verified it, so the
    // copies into the page cache (a third of get's time) leave this thread. One at a time: ext4
    // holds the inode lock through a write's copy, and a second writer would spin on it in the
    // kernel instead of decompressing the next chunk.
    // The blocks are allocated first: ext4's delayed allocation, reserving block by block as
    // the pages are written, took half the time of writing a 1.6 GB file (0.74-1.04 s against
    // 0.35-0.39 s allocated first). It also makes a full disk fail before any work.
    std::mutex write_mu;
    auto write = [&](uint64_t offset, std::string_view piece) {
      std::lock_guard lock(write_mu);
      return out->WriteAt(offset, piece);
    };
    Status s = out->Allocate(content.size);
    if (s.ok()) s = reader.ReadAt(id, write, [&](uint64_t n) { progress.Add(0, n); });
    if (!s.ok()) return s;  // the file is removed with `file`
    return file->Publish(/*replace=*/true);
  }
  CAIRN_ASSIGN_OR_RETURN(auto out, Env::Default()->NewWritableFile(output));
  // Standard output (perhaps a pipe) takes the content in order. Small pieces are gathered into
  // one reused buffer (written at 1 MiB); chunks go out directly.
  std::string buf;
  buf.reserve(kWriteBuffer);
  Status s = reader.Read(id, [&](std::string_view piece) -> Status {
    progress.Add(0, piece.size());
    // Copying chunks (64 KiB on average) into the buffer cost a second pass over every byte on
    // the writing thread.
    if (!buf.empty() && (buf.size() + piece.size() > kWriteBuffer || piece.size() >= kDirectWrite)) {
      CAIRN_RETURN_IF_ERROR(out->Append(buf));
      buf.clear();
    }
    if (piece.size() >= kDirectWrite) return out->Append(piece);
    buf.append(piece);
    return Status();
  });
  if (s.ok() && !buf.empty()) s = out->Append(buf);
  if (s.ok()) s = out->Close();
  return s;
}

}  // namespace

int RunGet(const Args& args) {
  const CommandSpec spec{"get", "get ID [-o FILE]",
                         "Write the content of a stored file to standard output or FILE.\n"
                         "ID is a unique prefix (8+ hex digits) of an id printed by `put`, or "
                         "the file's SHA-256.\nEvery byte is verified against its id first."};
  std::string repo, id, output = "-";
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("output,o", po::value(&output)->value_name("FILE"),
                     "write to FILE instead of standard output")(
      "id", po::value(&id)->required(), "object id");
  po::positional_options_description pos;
  pos.add("id", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;
  if (output.empty()) {
    return Fail(Status::InvalidArgument(
        "get " + id + ": -o names no file (give a path, or - for standard output)"));
  }
  if (output == "-" && ::isatty(1)) {
    return Fail(Status::InvalidArgument("get " + id +
                                        ": refusing to write file content to a terminal; use -o "
                                        "FILE or a redirection"));
  }
  auto r = OpenRepository(repo, cas::Repository::Mode::kRead);
  if (!r) return Fail(r.error());
  Status s = GetTo(**r, id, output);
  if (!s.ok()) return Fail(s);
  return kExitOk;
}

}  // namespace cairn::tools
