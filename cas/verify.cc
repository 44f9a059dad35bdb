#include "cas/verify.h"

#include <deque>
#include <future>
#include <mutex>

#include "base/thread_pool.h"
#include "cas/chunk_index.h"

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
  auto finish_one = [&] {
    auto [problems, bytes] = pending.front().result.get();
    ObjectId id = pending.front().id;
    pending.pop_front();
    report.objects++;
    report.bytes += bytes;
    if (!problems.empty()) {
      report.bad++;
      for (const auto& p : problems)
        if (cb.on_problem) cb.on_problem(id, p);
    }
    if (cb.on_progress && report.objects % 256 == 0) cb.on_progress(report.objects, report.bytes);
  };
  CAIRN_RETURN_IF_ERROR(store->ForEachRecord([&](const ObjectId& id, std::string_view rec) {
    pending.push_back({id, pool.Submit([store, id, r = std::string(rec)] {
                         uint64_t bytes = 0;
                         auto problems = CheckRecord(store, id, r, &bytes);
                         return std::make_pair(std::move(problems), bytes);
                       })});
    while (pending.size() > 32) finish_one();
    return true;
  }));
  while (!pending.empty()) finish_one();
  // Info entries without a record.
  CAIRN_RETURN_IF_ERROR(store->ForEachObject([&](const ObjectId& id, const ObjectInfo&) {
    auto rec = store->Get(Space::kObjects, id.AsBytes());
    if (!rec || !rec->has_value()) {
      report.bad++;
      if (cb.on_problem) {
        cb.on_problem(id, Status::Corruption("object " + id.Short() + ": record is missing"));
      }
    }
    return true;
  }));
  if (cb.on_progress) cb.on_progress(report.objects, report.bytes);
  return report;
}

}  // namespace cairn::cas
