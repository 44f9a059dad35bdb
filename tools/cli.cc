#include "tools/cli.h"

#include <fmt/core.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <set>

#include "base/interrupt.h"
#include "cas/content_reader.h"

namespace cairn::tools {

const char kExitCodeHelp[] = R"(Exit codes:
  0   success
  1   the command ran and found a problem (verify: damaged objects)
  2   bad option or argument
  3   not found: unknown id, image, version or file; not a repository
  4   ambiguous id prefix
  5   stored data failed verification (corruption)
  6   I/O error or permission denied
  7   disk full
  8   repository busy: another cairn process is writing
  9   not supported
  10  already exists
  70  internal error
  checkin and put, interrupted (SIGINT, SIGTERM, SIGHUP), undo what they wrote and end by
  that signal: a shell reports 128 + its number (130 for SIGINT, 143 for SIGTERM)
)";

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument: return kExitUsage;
    case Code::kNotFound: return kExitNotFound;
    case Code::kAmbiguous: return kExitAmbiguous;
    case Code::kCorruption: return kExitCorruption;
    case Code::kIOError:
    case Code::kPermissionDenied: return kExitIO;
    case Code::kNoSpace: return kExitNoSpace;
    case Code::kBusy: return kExitBusy;
    case Code::kNotSupported: return kExitUnsupported;
    case Code::kAlreadyExists: return kExitExists;
    case Code::kInternal: return kExitInternal;
    case Code::kCancelled:
      return kExitInterrupted;
  }
  return kExitInternal;
}

int Fail(const Status& s) {
  // An interrupted checkin or put (base/interrupt.h) may first fail on what the signal did to
  // its input: a tar producer killed by the same Ctrl-C ends the stream ("Truncated tar
  // archive"). The signal is the cause.
  if (InterruptSignal() != 0 && s.code() != Code::kCancelled) return Fail(InterruptedStatus());
  fmt::print(stderr, "cairn: {}\n", s.message());
  return ExitCodeFor(s);
}

int FailOutput(int err) {
  fmt::print(stderr, "cairn: write standard output: {}\n",
             err == 0 ? "failed" : std::strerror(err));
  return err == ENOSPC ? kExitNoSpace : kExitIO;
}

int ExitNow(int code) {
  errno = 0;
  std::cout.flush();  // through stdout (synchronised with stdio): its errors land there
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if ((!flushed || std::ferror(stdout) || !std::cout) && code == kExitOk) {
    // What the command printed did not all reach its reader (a full disk, a closed pipe or
    // descriptor): a put's ids, a listing cut short. Success would be a lie.
    code = FailOutput(err);
  }
  std::cerr.flush();
  std::fflush(nullptr);
#if !defined(__SANITIZE_ADDRESS__)
  std::_Exit(code);
#endif
  return code;
}

namespace {

// The names of the options that stand for positional arguments ("version" for ls's NAME[:VER]).
std::set<std::string> PositionalNames(const po::positional_options_description& positional) {
  std::set<std::string> names;
  // An unbounded last argument repeats its name: the first few positions name them all.
  for (unsigned i = 0; i < std::min(positional.max_total_count(), 16u); ++i) {
    names.insert(positional.name_for_position(i));
  }
  return names;
}

}  // namespace

std::optional<int> ParseCommandLine(const CommandSpec& spec, const std::vector<std::string>& args,
                                    po::options_description& options,
                                    const po::positional_options_description& positional,
                                    po::variables_map* vm) {
  options.add_options()("help,h", "show this help");
  const std::set<std::string> positional_names = PositionalNames(positional);
  auto usage_error = [&](const std::string& what) {
    fmt::print(stderr, "cairn {}: {}\nusage: cairn {}\n(see `cairn {} --help`)\n", spec.name, what,
               spec.usage, spec.name);
    return kExitUsage;
  };
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), *vm);
    if (vm->count("help")) {
      // The arguments are in the usage line; as options they are only how they are parsed.
      po::options_description shown;
      for (const auto& o : options.options()) {
        if (!positional_names.contains(o->long_name())) shown.add(o);
      }
      std::cout << "usage: cairn " << spec.usage << "\n\n"
                << spec.summary << "\n\nOptions:\n"
                << shown << "\n"
                << kExitCodeHelp;
      return kExitOk;
    }
    po::notify(*vm);
  } catch (const po::required_option& e) {
    // "the option '--version' is required" would name an option nobody typed.
    std::string name = e.get_option_name();
    while (name.starts_with('-')) name.erase(0, 1);
    const po::option_description* d = options.find_nothrow(name, false);
    if (positional_names.contains(name) && d != nullptr) {
      std::string upper = name;
      for (char& c : upper) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
      return usage_error("missing argument " + upper + " (" + d->description() + ")");
    }
    return usage_error(e.what());
  } catch (const po::too_many_positional_options_error&) {
    // Boost names no argument: name the first one beyond those the command takes.
    std::vector<std::string> given;  // the positional arguments, in order
    try {
      for (const auto& o :
           po::command_line_parser(args).options(options).allow_unregistered().run().options) {
        if (o.position_key != -1 && !o.value.empty()) given.push_back(o.value.front());
      }
    } catch (const po::error&) {
    }
    const unsigned takes = positional.max_total_count();
    if (given.size() > takes) return usage_error("unexpected argument '" + given[takes] + "'");
    return usage_error("too many arguments");
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  return std::nullopt;
}

void AddRepoOption(po::options_description& options, std::string* repo) {
  // An empty DIR (an unset shell variable: --repo "$R") must not mean the default repository.
  auto nonempty = [](const std::string& dir) {
    if (dir.empty())
      throw po::error("the argument for option '--repo' is empty: name a repository");
  };
  options.add_options()("repo", po::value(repo)->value_name("DIR")->notifier(nonempty),
                        "repository (default: $CAIRN_REPO, else ~/.local/share/cairn)");
}

Result<std::unique_ptr<cas::Repository>> OpenRepository(const std::string& repo_flag,
                                                        cas::Repository::Mode mode, bool* waited) {
  bool explicit_choice = false;
  std::string dir = cas::DefaultRepositoryDir(repo_flag, &explicit_choice);
  if (!explicit_choice && !cas::Repository::Exists(dir)) {
    CAIRN_RETURN_IF_ERROR(cas::Repository::Init(dir, cas::RepositoryConfig()));
  }
  cas::Repository::OpenOptions o;
  o.mode = mode;
  o.on_wait = [waited](const std::string& msg) {
    fmt::print(stderr, "cairn: {}\n", msg);
    if (waited != nullptr) *waited = true;
  };
  return cas::Repository::Open(dir, o);
}

Result<ObjectId> ResolveObject(cas::Repository& repo, const std::string& text) {
  auto id = repo.store()->ResolvePrefix(text);
  if (id || !id.error().IsNotFound() || text.size() != ObjectId::kHexSize) return id;
  // A full digest that is no object may be the SHA-256 of a large file's whole content.
  CAIRN_ASSIGN_OR_RETURN(ObjectId digest, ObjectId::FromHex(text));
  cas::ContentReader reader(repo.store(), 1);
  return reader.FindBySha256(digest);
}

std::string FormatSeconds(int64_t sec, const char* format) {
  const std::time_t t = sec;
  struct tm tm;
  char buf[64];
  if (::gmtime_r(&t, &tm) == nullptr || std::strftime(buf, sizeof(buf), format, &tm) == 0) {
    return "@" + std::to_string(sec);
  }
  return buf;
}

std::string FormatTime(int64_t ns) { return FormatSeconds(ns / 1000000000, "%Y-%m-%d %H:%M:%SZ"); }

}  // namespace cairn::tools
