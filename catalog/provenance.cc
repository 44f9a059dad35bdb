#include "catalog/provenance.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <set>

namespace cairn::catalog {

Result<Provenance> BuildProvenance(Catalog& catalog, const VersionRef& focus) {
  Provenance p;
  p.focus = focus.id;
  // The graph's links are the children index's, both ways: Purge links a purged version's
  // parents to its children, so the lineage through it reads the same from either end and
  // outlives its Version object (the ancestors were read from that object, and gc took them
  // with it). A recorded parent without a link was purged before purges linked: it stays a
  // node of its own, "(purged ID)", with the parents its Version names until gc takes it,
  // unless links bridge it.
  CAIRN_ASSIGN_OR_RETURN(const auto links, catalog.ChildLinks());
  std::map<ObjectId, std::vector<ObjectId>> ups, downs;
  for (const auto& [parent, child] : links) {
    ups[child].push_back(parent);
    downs[parent].push_back(child);
  }
  auto parents_of = [&](const ObjectId& id, const std::vector<ObjectId>& recorded) {
    const std::vector<ObjectId>& up = ups[id];
    auto in = [](const std::vector<ObjectId>& v, const ObjectId& x) {
      return std::find(v.begin(), v.end(), x) != v.end();
    };
    bool bridged =
        std::any_of(up.begin(), up.end(), [&](const ObjectId& u) { return !in(recorded, u); });
    std::vector<ObjectId> out;
    for (const auto& r : recorded)
      if (in(up, r) || !bridged) out.push_back(r);  // in their recorded order: the first leads
    for (const auto& u : up)
      if (!in(recorded, u)) out.push_back(u);
    return out;
  };
  std::set<ObjectId> seen;
  auto add = [&](const ObjectId& id) -> Status {
    if (!seen.insert(id).second) return Status();
    // Until the catalog names it: a purge removed only deleted versions.
    ProvenanceNode n{id, "(purged " + id.Short() + ")", VersionState::kDeleted, true, "", {}};
    auto ref = catalog.ResolveId(id);
    if (ref) {
      n.name = ref->Name();
      n.state = ref->state;
      n.purged = false;
      n.message = ref->version.message;
      n.parents = parents_of(id, ref->version.parents);
    } else if (!ref.error().IsNotFound()) {
      return ref.error();
    } else if (auto v = catalog.ReadVersion(id); v) {
      n.parents = parents_of(id, v->parents);  // purged from the catalog, object not yet collected
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
    for (const auto& c : downs[id]) {
      if (!down.insert(c).second) continue;
      CAIRN_RETURN_IF_ERROR(add(c));
      todo.push_back(c);
    }
  }
  return p;
}

Result<std::vector<VersionRef>> Ancestry(Catalog& catalog, const VersionRef& focus) {
  CAIRN_ASSIGN_OR_RETURN(Provenance p, BuildProvenance(catalog, focus));
  std::map<ObjectId, const ProvenanceNode*> by_id;
  for (const auto& n : p.nodes) by_id[n.id] = &n;
  std::vector<VersionRef> out{focus};
  std::set<ObjectId> seen{focus.id};
  std::deque<ObjectId> todo{focus.id};
  while (!todo.empty()) {
    const ProvenanceNode* n = by_id[todo.front()];
    todo.pop_front();
    if (n == nullptr) continue;
    for (const ObjectId& parent : n->parents) {
      if (!seen.insert(parent).second) continue;
      todo.push_back(parent);  // through a purged or deleted one to what it descends from
      auto ref = catalog.ResolveId(parent);
      if (!ref && !ref.error().IsNotFound()) return ref.error();
      if (ref && ref->state == VersionState::kActive) out.push_back(std::move(*ref));
    }
  }
  std::sort(out.begin() + 1, out.end(), [](const VersionRef& a, const VersionRef& b) {
    if (a.version.time_ns != b.version.time_ns) return a.version.time_ns > b.version.time_ns;
    return a.image != b.image ? a.image < b.image : a.number > b.number;
  });
  return out;
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
    if (n.state == VersionState::kDeleted && !n.purged) s += "  [deleted]";
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
