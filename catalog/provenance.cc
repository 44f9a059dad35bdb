#include "catalog/provenance.h"

#include <deque>
#include <functional>
#include <map>
#include <set>

namespace cairn::catalog {

Result<Provenance> BuildProvenance(Catalog& catalog, const VersionRef& focus) {
  Provenance p;
  p.focus = focus.id;
  std::set<ObjectId> seen;
  auto add = [&](const ObjectId& id) -> Status {
    if (!seen.insert(id).second) return Status();
    ProvenanceNode n{id, "(purged " + id.Short() + ")", VersionState::kActive, "", {}};
    auto ref = catalog.ResolveId(id);
    if (ref) {
      n.name = ref->Name();
      n.state = ref->state;
      n.message = ref->version.message;
      n.parents = ref->version.parents;
    } else if (!ref.error().IsNotFound()) {
      return ref.error();
    } else if (auto v = catalog.ReadVersion(id); v) {
      n.parents = v->parents;  // purged from the catalog, object not yet collected
    }
    p.nodes.push_back(std::move(n));
    return Status();
  };
  // Ancestors.
  std::deque<ObjectId> todo{focus.id};
  while (!todo.empty()) {
    ObjectId id = todo.front();
    todo.pop_front();
    if (seen.contains(id)) continue;
    CAIRN_RETURN_IF_ERROR(add(id));
    for (const auto& parent : p.nodes.back().parents) todo.push_back(parent);
  }
  // Descendants.
  todo.push_back(focus.id);
  std::set<ObjectId> down{focus.id};
  while (!todo.empty()) {
    ObjectId id = todo.front();
    todo.pop_front();
    CAIRN_ASSIGN_OR_RETURN(auto children, catalog.Children(id));
    for (const auto& c : children) {
      if (!down.insert(c).second) continue;
      CAIRN_RETURN_IF_ERROR(add(c));
      todo.push_back(c);
    }
  }
  return p;
}

std::string ProvenanceDot(const Provenance& p) {
  std::string out = "digraph provenance {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n";
  for (const auto& n : p.nodes) {
    std::string style = n.id == p.focus ? ", style=bold" : "";
    if (n.state == VersionState::kDeleted) style += ", color=gray";
    out += "  \"" + n.id.Short() + "\" [label=\"" + n.name + "\\n" + n.id.Short() + "\"" + style + "];\n";
  }
  std::set<ObjectId> present;
  for (const auto& n : p.nodes) present.insert(n.id);
  for (const auto& n : p.nodes)
    for (const auto& parent : n.parents)
      if (present.contains(parent)) out += "  \"" + parent.Short() + "\" -> \"" + n.id.Short() + "\";\n";
  return out + "}\n";
}

std::string ProvenanceText(const Provenance& p) {
  std::map<ObjectId, const ProvenanceNode*> by_id;
  std::map<ObjectId, std::vector<ObjectId>> children;
  for (const auto& n : p.nodes) by_id[n.id] = &n;
  for (const auto& n : p.nodes)
    for (const auto& parent : n.parents) children[parent].push_back(n.id);
  auto label = [&](const ProvenanceNode& n) {
    std::string s = n.name + "  " + n.id.Short();
    if (n.state == VersionState::kDeleted) s += "  [deleted]";
    if (!n.message.empty()) s += "  " + n.message;
    return s;
  };
  std::string out;
  // Ancestry: follow first parents upwards from the focus, then print top-down.
  std::vector<const ProvenanceNode*> chain;
  for (const ProvenanceNode* n = by_id[p.focus]; n;) {
    chain.push_back(n);
    n = (!n->parents.empty() && by_id.contains(n->parents[0])) ? by_id[n->parents[0]] : nullptr;
    if (chain.size() > by_id.size()) break;
  }
  for (size_t i = chain.size(); i-- > 1;) out += label(*chain[i]) + "\n" + std::string(2 * (chain.size() - i), ' ') + "└─ ";
  // The focus and its descendants.
  std::string indent(2 * chain.size() - 2, ' ');
  std::function<void(const ObjectId&, const std::string&, bool)> down =
      [&](const ObjectId& id, const std::string& pad, bool focus) {
        out += (focus ? "* " : "") + label(*by_id[id]) + "\n";
        auto& cs = children[id];
        for (size_t i = 0; i < cs.size(); ++i) {
          out += pad + (i + 1 == cs.size() ? "└─ " : "├─ ");
          down(cs[i], pad + (i + 1 == cs.size() ? "   " : "│  "), false);
        }
      };
  down(p.focus, indent + "   ", true);
  return out;
}

}  // namespace cairn::catalog
