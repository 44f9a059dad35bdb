// Catalog: images, their numbered versions, tags, states and provenance, over the store's refs
// and catalog spaces (keys: catalog/keys.h, docs/format/catalog.md). Every change is one synced
// atomic batch.
//
// Thread-safety: safe for concurrent readers; one writer process (cas/repository.h).
#ifndef CAIRN_CATALOG_CATALOG_H_
#define CAIRN_CATALOG_CATALOG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cas/object_store.h"
#include "cas/version.h"
#include "catalog/search_index.h"

namespace cairn::catalog {

enum class VersionState : uint8_t { kActive = 0, kDeleted = 1 };  // stable numbers

struct VersionRef {
  std::string image;
  uint64_t number = 0;
  ObjectId id;
  cas::Version version;
  VersionState state = VersionState::kActive;
  std::string Name() const { return image + ":" + std::to_string(number); }
};

// A parsed "NAME", "NAME:N" or "NAME@TAG".
struct VersionSpec {
  std::string image;
  std::optional<uint64_t> number;  // latest active version when neither is given
  std::optional<std::string> tag;
};
// InvalidArgument naming `text` when malformed.
Result<VersionSpec> ParseVersionSpec(std::string_view text);
// Image names and tags: 1-128 of [A-Za-z0-9._+-], not starting with '.' or '-'.
Status ValidateImageName(std::string_view name);

// What a new version's index holds, computed before the version is recorded.
struct VersionIndexData {
  ObjectId tree;      // the version's file tree (cas::RootTreeOf)
  TreeIndex trees;    // keys of the Trees not indexed yet
  Inspection inspection;
};
// Inspects the file tree `tree` and indexes its new Trees, for AddVersion. `one_chunk_below`
// and `sink`: as for IndexTrees (the repository's chunker minimum, 0 looks every file up; keys
// given to a sink are not in the result's trees.puts, see UndoTreeIndex), `base`: as for
// IndexTrees (the parent version's root Tree).
Result<VersionIndexData> BuildVersionIndex(cas::ObjectStore* store, const ObjectId& tree,
                                           uint64_t one_chunk_below = 0, KeySink* sink = nullptr,
                                           const ObjectId& base = ObjectId());

class Catalog {
 public:
  explicit Catalog(cas::ObjectStore* store) : store_(store) {}
  cas::ObjectStore* store() const { return store_; }

  // Records `v` as its image's next version, with its index, durably. The summary of `v` is
  // set from index.inspection. REQUIRES: every object `v` reaches is already durable.
  Result<VersionRef> AddVersion(cas::Version v, const VersionIndexData& index);
  // What AddVersion writes, without writing it: for a caller that writes it in one atomic
  // batch with the objects `v` reaches (cas::Ingestor::Finish(WriteBatch)). `ref` names the
  // version the batch records. Valid while this process stays the repository's only writer.
  struct PreparedVersion {
    cas::WriteBatch batch;
    VersionRef ref;
  };
  Result<PreparedVersion> PrepareVersion(cas::Version v, const VersionIndexData& index);
  // NotFound naming the image, version or tag, suggesting close image names.
  Result<VersionRef> Resolve(const VersionSpec& spec);
  Result<VersionRef> Resolve(std::string_view text);
  Result<VersionRef> ResolveId(const ObjectId& id);  // NotFound if purged or unknown
  // "NAME:N" of a version without reading it (for listings of many). NotFound if purged.
  Result<std::string> NameOf(const ObjectId& id);
  // Images with at least one active version (all, with include_deleted).
  Result<std::vector<std::string>> Images(bool include_deleted = false);
  Result<std::vector<VersionRef>> Versions(const std::string& image, bool include_deleted = false);
  // How many active versions `image` has, without reading any Version object. NotFound for an
  // unknown image.
  Result<size_t> CountVersions(const std::string& image);
  Result<cas::Version> ReadVersion(const ObjectId& id);
  // The versions the children index links below `id`: those recorded with it as a parent, and
  // those a purge linked to it in place of a purged version between them (Purge).
  Result<std::vector<ObjectId>> Children(const ObjectId& id);
  // Every (parent, child) link of the children index: the lineage of the versions the catalog
  // holds, purged ones bridged.
  Result<std::set<std::pair<ObjectId, ObjectId>>> ChildLinks();

  Status SetTag(const VersionRef& v, const std::string& tag);
  Result<std::map<std::string, ObjectId>> Tags(const std::string& image);
  Result<std::vector<std::string>> TagsOf(const VersionRef& v);

  Status SetState(const VersionRef& v, VersionState state);
  Result<VersionState> StateOf(const ObjectId& id);
  // Forgets every deleted version but those in `keep`: refs, tags, state and index keys. Its
  // lineage stays: its parents are linked to its children in the children index, so that
  // provenance reads the same downwards and upwards, also once gc has taken the Version object
  // that named its parents. Returns their names.
  Result<std::vector<std::string>> Purge(const std::set<ObjectId>& keep = {});
  // Every version id the refs still name (the roots of gc).
  Result<std::vector<ObjectId>> AllVersionIds();
  // The bytes of the files of every version the refs name (deleted ones until purged), each
  // counted as `show` counts it: what the repository would give back if each were checked out.
  Result<uint64_t> LogicalBytes();

 private:
  Result<std::optional<uint64_t>> Latest(const std::string& image, bool active_only);
  Status NotFoundImage(const std::string& image);
  // Ids of every version of `image` in number order; NotFound for an unknown image.
  Result<std::vector<ObjectId>> VersionIds(const std::string& image);
  cas::ObjectStore* store_;
};

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_CATALOG_H_
