#include "cas/verify.h"

#include <deque>
#include <future>
#include <mutex>

#include "base/thread_pool.h"
#include "cas/chunk_index.h"
#include "cas/disk.h"

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
  if (decoded->type == ObjectType::kDisk) {
    auto disk = DecodeDisk(id, decoded->data);
    if (!disk) {
      problems.push_back(disk.error());
      return problems;
    }
    std::vector<ObjectId> named = DiskTrees(*disk);
    for (const auto& c : DiskContents(*disk)) named.push_back(c);
    for (const auto& n : named) {
      if (!store->Info(n)) {
        problems.push_back(Status::Corruption("disk " + id.Short() + ": object " + n.Short() +
                                              " is missing"));
      }
    }
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
  ThreadPool pool(threads);
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
  // Every object named by an info entry, its record fetched alone: a record the store cannot
  // read (RocksDB's own checksum failing) is reported against its id and the walk goes on,
  // where a scan of the records would stop at the first such record.
  CAIRN_RETURN_IF_ERROR(store->ForEachObject([&](const ObjectId& id, const ObjectInfo&) {
    pending.push_back({id, pool.Submit([store, id] {
                         uint64_t bytes = 0;
                         std::vector<Status> problems;
                         auto rec = store->Get(Space::kObjects, id.AsBytes());
                         if (!rec) {
                           problems.push_back(Status::Corruption("object " + id.Short() + ": " +
                                                                 rec.error().message()));
                         } else if (!rec->has_value()) {
                           problems.push_back(
                               Status::Corruption("object " + id.Short() + ": record is missing"));
                         } else {
                           problems = CheckRecord(store, id, **rec, &bytes);
                         }
                         return std::make_pair(std::move(problems), bytes);
                       })});
    while (pending.size() > 32) finish_one();
    return true;
  }));
  while (!pending.empty()) finish_one();
  // Records without an info entry. A record the store cannot read ends this scan early; it was
  // reported above, so the scan's error is returned only when nothing explains it.
  Status scan = store->ForEachRecord([&](const ObjectId& id, std::string_view) {
    auto info = store->Get(Space::kObjectInfo, id.AsBytes());
    if (!info || !info->has_value()) {
      report.objects++;
      report.bad++;
      report_problem(id, Status::Corruption("object " + id.Short() + ": info entry is missing"));
    }
    return true;
  });
  if (!scan.ok() && report.bad == 0) return scan;
  if (cb.on_progress) cb.on_progress(report.objects, report.bytes);
  return report;
}

}  // namespace cairn::cas
