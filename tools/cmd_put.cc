// cairn put FILE...
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/progress.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/json_out.h"

namespace cairn::tools {
namespace {

struct Stored {
  std::string file;
  cas::FileContent content;
};

Status PutAll(cas::Repository& repo, const std::vector<std::string>& files,
              std::vector<Stored>* out) {
  cas::Ingestor ingestor(repo.store(), repo.ingest_options());
  uint64_t total = 0;
  std::vector<std::unique_ptr<SequentialFile>> opened;
  // Open everything first: an unreadable file fails the command before anything is written.
  for (const auto& f : files) {
    CAIRN_ASSIGN_OR_RETURN(auto file, Env::Default()->NewSequentialFile(f));
    total += file->Size();
    opened.push_back(std::move(file));
  }
  Progress progress("put", total);
  Status s;
  for (size_t i = 0; i < files.size() && s.ok(); ++i) {
    auto content = ingestor.PutStream(opened[i].get(), files[i]);
    if (!content) {
      s = content.error();
      break;
    }
    progress.Add(1, content->size);
    out->push_back({files[i], *content});
  }
  if (s.ok()) s = ingestor.Finish();
  if (s.ok()) s = repo.AddPutBytes(ingestor.stats().bytes_in);
  if (!s.ok()) return cas::WithUndo(s, ingestor.Abort(), "put");
  return s;
}

}  // namespace

int RunPut(const Args& args) {
  const CommandSpec spec{"put", "put [--json] FILE...",
                         "Store files (\"-\" is standard input) and print one id per file, in "
                         "order.\nA file of one chunk gets its SHA-256 as id; `cairn get` also "
                         "accepts the SHA-256\nof any stored file."};
  std::string repo;
  std::vector<std::string> files;
  po::options_description opts("Options");
  AddRepoOption(opts, &repo);
  opts.add_options()("json", "print a JSON array of {file, id, type, size, sha256}")(
      "file", po::value(&files)->required(), "files to store");
  po::positional_options_description pos;
  pos.add("file", -1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(spec, args, opts, pos, &vm)) return *rc;

  auto r = OpenRepository(repo, cas::Repository::Mode::kWrite);
  if (!r) return Fail(r.error());
  std::vector<Stored> stored;
  Status s = PutAll(**r, files, &stored);
  if (!s.ok()) return Fail(s);
  if (vm.count("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& st : stored) {
      out.push_back({{"file", st.file},
                     {"id", st.content.id.ToHex()},
                     {"type", cas::ObjectTypeName(st.content.type)},
                     {"size", st.content.size},
                     {"sha256", st.content.sha256.ToHex()}});
    }
    PrintJson(std::move(out));
  } else {
    for (const auto& st : stored) fmt::print("{}\n", st.content.id.ToHex());
  }
  return kExitOk;
}

}  // namespace cairn::tools
