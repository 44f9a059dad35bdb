#include "tests/cas/test_util.h"

#include <stdlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include "cas/content_reader.h"

namespace cairn::cas::testing {
namespace {
constexpr uint64_t kRandomBlock = 1 << 16;

void FillRandom(char* out, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(out + i, &v, 8);
  }
  if (i < n) {
    uint64_t v = rng();
    std::memcpy(out + i, &v, n - i);
  }
}
}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  FillRandom(out.data(), n, seed);
  return out;
}

void WriteFileOrDie(const std::string& path, std::string_view data) {
  auto f = Env::Default()->NewWritableFile(path);
  if (!f || !(*f)->Append(data).ok() || !(*f)->Close().ok()) {
    std::fprintf(stderr, "cannot write test fixture %s\n", path.c_str());
    std::abort();
  }
}

RandomFile::RandomFile(uint64_t size, uint64_t seed) : size_(size), seed_(seed) {}

// Content is made of 64 KiB blocks, each seeded from (seed, block number), so any offset can
// be produced without generating what comes before it.
Result<size_t> RandomFile::Read(char* buf, size_t n) {
  size_t done = 0;
  while (done < n && pos_ < size_) {
    uint64_t index = pos_ / kRandomBlock;
    if (index != block_index_) {
      block_.resize(kRandomBlock);
      FillRandom(block_.data(), kRandomBlock, seed_ * 1000003 + index);
      block_index_ = index;
    }
    size_t off = pos_ % kRandomBlock;
    size_t take = std::min<uint64_t>({n - done, kRandomBlock - off, size_ - pos_});
    std::memcpy(buf + done, block_.data() + off, take);
    done += take;
    pos_ += take;
  }
  return done;
}

std::string RandomFileContent(uint64_t size, uint64_t seed) {
  RandomFile f(size, seed);
  std::string out(size, '\0');
  size_t n = *f.Read(out.data(), size);
  out.resize(n);
  return out;
}

std::set<ObjectId> AllObjectIds(ObjectStore* store) {
  std::set<ObjectId> ids;
  Status s = store->ForEachObject([&](const ObjectId& id, const ObjectInfo&) {
    ids.insert(id);
    return true;
  });
  if (!s.ok()) std::fprintf(stderr, "ForEachObject: %s\n", s.ToString().c_str());
  return ids;
}

void OverwriteRecord(ObjectStore* store, const EncodedObject& damaged) {
  auto info = store->Info(damaged.id);
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  std::string key = RecordKey(info->position);
  RawOp op{true, Space::kObjects, key, damaged.record};
  ASSERT_TRUE(store->WriteRaw(std::span<const RawOp>(&op, 1), WriteOptions{.sync = true}).ok());
}

std::set<std::string> AllKeys(ObjectStore* store, Space space) {
  std::set<std::string> keys;
  (void)store->Scan(space, "", [&](std::string_view k, std::string_view) {
    keys.emplace(k);
    return true;
  });
  return keys;
}

Result<std::string> ReadContent(ObjectStore* store, const ObjectId& id) {
  ContentReader reader(store, 2);
  std::string out;
  CAIRN_RETURN_IF_ERROR(reader.Read(id, [&](std::string_view piece) {
    out.append(piece);
    return Status();
  }));
  return out;
}

std::unique_ptr<ObjectStore> MemoryStoreFactory::Make(const std::string&) {
  return std::make_unique<MemoryStore>();
}

std::unique_ptr<ObjectStore> RocksStoreFactory::Make(const std::string& dir) {
  RocksStoreOptions o;
  o.create_if_missing = true;
  auto store = RocksStore::Open(dir + "/db", o);
  if (!store) {
    std::fprintf(stderr, "RocksStore::Open: %s\n", store.error().ToString().c_str());
    std::abort();
  }
  return std::move(store).value();
}

}  // namespace cairn::cas::testing
