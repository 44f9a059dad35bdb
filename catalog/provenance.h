// Provenance: the derivation graph around a version (its ancestors and descendants, across
// images), from the parents recorded in Versions and the children index.
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
  std::string message;
  std::vector<ObjectId> parents;
};

struct Provenance {
  ObjectId focus;
  std::vector<ProvenanceNode> nodes;  // ancestors and descendants of focus, and focus
};

Result<Provenance> BuildProvenance(Catalog& catalog, const VersionRef& focus);
// Graphviz: one node per version, an edge parent -> child.
std::string ProvenanceDot(const Provenance& p);
// Text: the ancestry chain(s) of the focus, then its descendants as an indented tree.
std::string ProvenanceText(const Provenance& p);

}  // namespace cairn::catalog

#endif  // CAIRN_CATALOG_PROVENANCE_H_
