#include "cas/verify.h"

#include <algorithm>
#include <deque>
#include <future>
#include <mutex>
#include <optional>

#include "base/thread_pool.h"
#include "cas/chunk_index.h"
#include "cas/disk.h"
#include "cas/tree.h"
#include "cas/version.h"

namespace cairn::cas {
namespace {

// Checks one record; returns the problems found (empty when good).
std::vector<Status> CheckRecord(ObjectStore* store, const ObjectId& id, const std::string& record,
                                uint64_t* bytes) {
  std::vector<Status> problems;
  auto decoded = DecodeObject(id, record);
  if (!decoded) {
    problems.push_back(decoded.error());
    return problems;
  }
  *bytes = decoded->data.size();
  auto info = store->Info(id);
  if (!info) {
    problems.push_back(Status::Corruption("object " + id.Short() + ": " +
                                          info.error().message()));
  } else if (info->type != decoded->type || info->raw_size != decoded->data.size()) {
    problems.push_back(Status::Corruption("object " + id.Short() +
                                          ": info entry disagrees with the record"));
  }
  // What a Disk, a Tree or a Version names must be there (a checkout reaches it: a lost file's
  // content, or a subdirectory, failed the checkout with verify passing), of one of `types`
  // when any are given.
  auto named_as = [&](const std::string& who, const ObjectId& n, const char* what,
                      std::initializer_list<ObjectType> types) {
    auto ni = store->Info(n);
    if (!ni) {
      problems.push_back(Status::Corruption(who + ": " + what + " " + n.Short() + " is missing"));
    } else if (types.size() != 0 &&
               std::find(types.begin(), types.end(), ni->type) == types.end()) {
      problems.push_back(Status::Corruption(who + ": " + what + " " + n.Short() + " is a " +
                                            std::string(ObjectTypeName(ni->type))));
    }
  };
  if (decoded->type == ObjectType::kDisk) {
    auto disk = DecodeDisk(id, decoded->data);
    if (!disk) {
      problems.push_back(disk.error());
      return problems;
    }
    std::vector<ObjectId> named = DiskTrees(*disk);
    for (const auto& c : DiskContents(*disk)) named.push_back(c);
    for (const auto& n : named) named_as("disk " + id.Short(), n, "object", {});
  }
  if (decoded->type == ObjectType::kTree) {
    auto tree = DecodeTree(id, decoded->data);
    if (!tree) {
      problems.push_back(tree.error());
      return problems;
    }
    for (const auto& e : tree->entries) {
      if (e.type == EntryType::kDirectory) {
        named_as("tree " + id.Short() + " entry " + e.name, e.id, "directory", {ObjectType::kTree});
      } else if (e.type == EntryType::kRegular) {
        named_as("tree " + id.Short() + " entry " + e.name, e.id, "content",
                 {ObjectType::kBlob, ObjectType::kChunkIndex});
      }
    }
  }
  if (decoded->type == ObjectType::kVersion) {
    auto version = DecodeVersion(id, decoded->data);
    if (!version) {
      problems.push_back(version.error());
      return problems;
    }
    // Its parents may be purged (provenance names them still); its root never is.
    named_as(
        "version " + id.Short(), version->root, "root",
        {version->root_type == Version::RootType::kTree ? ObjectType::kTree : ObjectType::kDisk});
  }
  if (decoded->type == ObjectType::kChunkIndex) {
    auto index = DecodeChunkIndex(id, decoded->data);
    if (!index) {
      problems.push_back(index.error());
      return problems;
    }
    for (const auto& c : index->chunks) {
      auto ci = store->Info(c.id);
      if (!ci) {
        problems.push_back(Status::Corruption("chunk-index " + id.Short() + ": chunk " +
                                              c.id.Short() + " is missing"));
      } else if (ci->raw_size != c.size || ci->type != ObjectType::kBlob) {
        problems.push_back(Status::Corruption("chunk-index " + id.Short() + ": chunk " +
                                              c.id.Short() + " has the wrong size or type"));
      }
    }
  }
  return problems;
}

}  // namespace

Result<VerifyReport> VerifyStore(ObjectStore* store, int threads, const VerifyCallbacks& cb) {
  VerifyReport report;
  ThreadPool pool(threads, "cairn-verify");
  struct Pending {
    ObjectId id;
    std::future<std::pair<std::vector<Status>, uint64_t>> result;
  };
  std::deque<Pending> pending;
  auto report_problem = [&](const ObjectId& id, const Status& s) {
    if (cb.on_problem) cb.on_problem(id, s);
  };
  auto finish_one = [&] {
    auto [problems, bytes] = pending.front().result.get();
    ObjectId id = pending.front().id;
    pending.pop_front();
    report.objects++;
    report.bytes += bytes;
    if (!problems.empty()) {
      report.bad++;
      for (const auto& p : problems) report_problem(id, p);
    }
    if (cb.on_progress && report.objects % 256 == 0) cb.on_progress(report.objects, report.bytes);
  };
  // The records in position order (the order they lie on disk), each checked against the id
  // whose info entry names it.
  std::vector<std::pair<uint64_t, ObjectId>> named;
  CAIRN_RETURN_IF_ERROR(store->ForEachObject([&](const ObjectId& id, const ObjectInfo& info) {
    named.emplace_back(info.position, id);
    return true;
  }));
  std::sort(named.begin(), named.end());
  auto submit = [&](const ObjectId& id, std::vector<Status> early, std::string record) {
    pending.push_back({id, pool.Submit([store, id, early = std::move(early),
                                        record = std::move(record)]() mutable {
                         uint64_t bytes = 0;
                         if (early.empty()) early = CheckRecord(store, id, record, &bytes);
                         return std::make_pair(std::move(early), bytes);
                       })});
    while (pending.size() > 32) finish_one();
  };
  auto missing = [&](const std::pair<uint64_t, ObjectId>& n) {
    submit(n.second,
           {Status::Corruption("object " + n.second.Short() + ": its record (position " +
                               std::to_string(n.first) + ") is missing")},
           {});
  };
  size_t next = 0;  // first entry of `named` not yet matched with a record
  Status scan = store->ForEachRecord([&](uint64_t position, std::string_view record) {
    while (next < named.size() && named[next].first < position) missing(named[next++]);
    if (next < named.size() && named[next].first == position) {
      size_t end = next + 1;
      while (end < named.size() && named[end].first == position) ++end;
      // More than one info entry naming this record: it belongs to the id its bytes hash to,
      // and the others are reported.
      std::optional<ObjectId> owner;
      if (end - next > 1) {
        if (auto id = IdOfRecord(record)) owner = *id;
      }
      for (; next < end; ++next) {
        const ObjectId& id = named[next].second;
        if (owner && id != *owner) {
          submit(id,
                 {Status::Corruption("object " + id.Short() + ": its info entry names the record of " +
                                     owner->Short())},
                 {});
        } else {
          submit(id, {}, std::string(record));
        }
      }
      return true;
    }
    // A record no info entry names: named by the id its bytes hash to.
    auto id = IdOfRecord(record);
    submit(id ? *id : ObjectId(),
           {Status::Corruption("record at position " + std::to_string(position) + " (object " +
                               (id ? id->Short() : std::string("undecodable")) +
                               "): no info entry names it")},
           {});
    return true;
  });
  // A record RocksDB cannot read (its own checksum failing) ends the scan: the records after it
  // are then fetched one by one, each failure reported against its object.
  for (; next < named.size(); ++next) {
    const auto& [position, id] = named[next];
    if (scan.ok()) {
      missing(named[next]);
      continue;
    }
    std::vector<Status> early;
    std::string record;
    auto got = store->GetView(Space::kObjects, RecordKey(position),
                              [&](std::string_view r) { record.assign(r); });
    if (!got) {
      early.push_back(Status::Corruption("object " + id.Short() + ": " + got.error().message()));
    } else if (!*got) {
      missing(named[next]);
      continue;
    }
    submit(id, std::move(early), std::move(record));
  }
  while (!pending.empty()) finish_one();
  if (!scan.ok() && report.bad == 0) {
    // Damage outside every object's bytes (RocksDB's own framing in a blob file): each object
    // verified read alone, but the store's files are not sound.
    report.bad++;
    if (cb.on_problem) {
      cb.on_problem(ObjectId(), Status::Corruption("the repository's files: reading the records "
                                                   "in order failed (" +
                                                   scan.message() +
                                                   "), though each object read alone verified"));
    }
  }
  // The other spaces (large files' SHA-256s, the catalog's names and records, settings) read
  // whole: RocksDB checks each block as it reads it. Damage there failed checkins and `get
  // --sha256` with verify passing.
  for (Space space :
       {Space::kContent, Space::kMeta, Space::kRefs, Space::kCatalog, Space::kStatCache}) {
    Status s = store->Scan(space, "", [](std::string_view, std::string_view) { return true; });
    if (!s.ok()) {
      report.bad++;
      if (cb.on_problem) {
        cb.on_problem(ObjectId(),
                      Status::Corruption("the repository's " + std::string(SpaceName(space)) +
                                         " space: reading it failed (" + s.message() + ")"));
      }
    }
  }
  if (cb.on_progress) cb.on_progress(report.objects, report.bytes);
  return report;
}

}  // namespace cairn::cas
