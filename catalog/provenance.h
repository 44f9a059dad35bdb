// Provenance: the derivation graph around a version (its ancestors and descendants, across
// images), from the children index (which bridges purged versions) and the parents recorded in
// Versions.
#ifndef CAIRN_CATALOG_PROVENANCE_H_
#define CAIRN_CATALOG_PROVENANCE_H_

#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace cairn::catalog {

struct ProvenanceNode {
  ObjectId id;
  std::string name;  // NAME:N, or "(purged)" when the catalog forgot it
  VersionState state = VersionState::kActive;
  // Forgotten by the catalog (`cairn purge`): it was deleted first, so state is kDeleted too.
  bool purged = false;
  std::string message;
  // Its parents in the graph: those recorded that the children index still links to it, and
  // those a purge linked to it in place of purged ones (Catalog::Purge); a parent purged
  // before purges linked stays, shown "(purged ID)".
  std::vector<ObjectId> parents;
};

struct Provenance {
  ObjectId focus;
  std::vector<ProvenanceNode> nodes;  // ancestors and descendants of focus, and focus
};

Result<Provenance> BuildProvenance(Catalog& catalog, const VersionRef& focus);
// What `log` shows: `focus`, then every version it descends from (through every parent, across
// images, bridging purged ones as provenance does), newest first by time, then by name. Deleted
// ancestors are left out, as in every listing; `focus` is first even when deleted.
Result<std::vector<VersionRef>> Ancestry(Catalog& catalog, const VersionRef& focus);
// Graphviz: one node per version, an edge parent -> child.
std::string ProvenanceDot(const Provenance& p);
// Text: the ancestry chain(s) of the focus, then its descendants as an indented tree.
std::string ProvenanceText(const Provenance& p);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_PROVENANCE_H_
