// Versions, names, tags, clone and provenance of versions checked in from fixture trees
// (tests/catalog/catalog_fixture.h).
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include "catalog/provenance.h"
#include "tests/catalog/catalog_test_base.h"

namespace cairn::catalog::testing {
namespace {

using CatalogTest = RepoTest;

// The author StampVersion records by default with $USER unset, in a child process that runs as
// `uid` when this test runs as root (else as the test's user).
std::string DefaultAuthorAs(uid_t uid) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0))
      ::_exit(1);
    ::unsetenv("USER");
    cas::Version v;
    StampVersion(&v, "");
    ssize_t n = ::write(fds[1], v.author.data(), v.author.size());
    ::_exit(n == static_cast<ssize_t>(v.author.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : "child failed";
}

// Without $USER (cron, systemd units, `env -i`), a version is the effective user's, by name or
// else by uid: "root@host" was recorded whoever made it.
TEST_F(CatalogTest, WithoutUserTheDefaultAuthorIsTheEffectiveUser) {
  char host[256] = "localhost";
  ::gethostname(host, sizeof(host) - 1);
  std::vector<uid_t> uids = {::geteuid()};
  if (::geteuid() == 0) uids = {65534, 54321};  // nobody, and a uid without a name (if free)
  for (uid_t uid : uids) {
    const struct passwd* pw = ::getpwuid(uid);
    std::string name = pw ? pw->pw_name : std::to_string(uid);
    EXPECT_EQ(DefaultAuthorAs(uid), name + "@" + host) << "uid " << uid;
  }
  cas::Version v;
  StampVersion(&v, "someone@elsewhere");
  EXPECT_EQ(v.author, "someone@elsewhere");
}

TEST_F(CatalogTest, VersionsAreNumberedAndNameResolvesToTheLatestActive) {
  std::string src = Build(BaseSpec());
  VersionRef v1 = Checkin(src, "web");
  VersionRef v2 = Checkin(src, "web");
  VersionRef v3 = Checkin(src, "web");
  EXPECT_EQ(v1.Name(), "web:1");
  EXPECT_EQ(v3.Name(), "web:3");
  Catalog c(store());
  EXPECT_EQ(Resolve("web").id, v3.id);
  EXPECT_EQ(Resolve("web:2").id, v2.id);

  MustOk(c.SetState(v3, VersionState::kDeleted));
  EXPECT_EQ(Resolve("web").id, v2.id) << "NAME skips a deleted latest version";
  EXPECT_EQ(Resolve("web:3").state, VersionState::kDeleted) << "NAME:N still names it";
  EXPECT_EQ(Must(c.Versions("web")).size(), 2u);
  EXPECT_EQ(Must(c.Versions("web", true)).size(), 3u);

  MustOk(c.SetState(v2, VersionState::kDeleted));
  MustOk(c.SetState(v1, VersionState::kDeleted));
  auto all_gone = c.Resolve("web");
  ASSERT_FALSE(all_gone.has_value());
  EXPECT_TRUE(all_gone.error().IsNotFound());
  EXPECT_TRUE(Must(c.Images()).empty());
  EXPECT_EQ(Must(c.Images(true)), std::vector<std::string>{"web"});

  MustOk(c.SetState(v2, VersionState::kActive));
  EXPECT_EQ(Resolve("web").id, v2.id) << "restore brings it back";
  EXPECT_EQ(Must(c.Images()), std::vector<std::string>{"web"});
}

TEST_F(CatalogTest, UnknownNamesAreNotFoundAndSuggestCloseOnes) {
  Checkin(Build(BaseSpec()), "webserver");
  Catalog c(store());
  auto typo = c.Resolve("webservr");
  ASSERT_FALSE(typo.has_value());
  EXPECT_TRUE(typo.error().IsNotFound());
  EXPECT_NE(typo.error().message().find("did you mean webserver"), std::string::npos)
      << typo.error().message();
  auto far = c.Resolve("zzz");
  ASSERT_FALSE(far.has_value());
  EXPECT_EQ(far.error().message().find("did you mean"), std::string::npos) << far.error().message();
  auto num = c.Resolve("webserver:9");
  ASSERT_FALSE(num.has_value());
  EXPECT_TRUE(num.error().IsNotFound());
  EXPECT_NE(num.error().message().find("latest is webserver:1"), std::string::npos) << num.error().message();
  for (const char* bad : {"web:0", "web:x", ":1", "-web", "web@", "a/b"}) {
    auto r = c.Resolve(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << bad << ": " << r.error().ToString();
  }
}

TEST_F(CatalogTest, TagsResolveAndMove) {
  std::string src = Build(BaseSpec());
  VersionRef v1 = Checkin(src, "web");
  VersionRef v2 = Checkin(src, "web");
  Catalog c(store());
  MustOk(c.SetTag(v1, "stable"));
  EXPECT_EQ(Resolve("web@stable").id, v1.id);
  EXPECT_EQ(Must(c.TagsOf(v1)), std::vector<std::string>{"stable"});
  MustOk(c.SetTag(v2, "stable"));
  EXPECT_EQ(Resolve("web@stable").id, v2.id);
  EXPECT_TRUE(Must(c.TagsOf(v1)).empty());
  EXPECT_EQ(Must(c.Tags("web")).size(), 1u);

  auto unknown = c.Resolve("web@nope");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_TRUE(unknown.error().IsNotFound());
  EXPECT_NE(unknown.error().message().find("no such tag"), std::string::npos);
  auto img = c.Resolve("wbe@stable");
  ASSERT_FALSE(img.has_value());
  EXPECT_NE(img.error().message().find("did you mean web"), std::string::npos) << img.error().message();
  EXPECT_EQ(c.SetTag(v1, "bad tag").code(), Code::kInvalidArgument);
}

TEST_F(CatalogTest, CloneMakesNewImageWithTheSameRootAndTheSourceAsParent) {
  std::string src = Build(BaseSpec());
  Checkin(src, "base");
  VersionRef b2 = Checkin(src, "base");
  VersionRef clone = Must(CloneVersion(*repo_, "base:2", "app", ""));
  EXPECT_EQ(clone.Name(), "app:1");
  EXPECT_EQ(clone.version.root, b2.version.root);
  EXPECT_EQ(clone.version.parents, std::vector<ObjectId>{b2.id});
  EXPECT_EQ(clone.version.message, "clone of base:2");
  EXPECT_EQ(clone.version.summary, b2.version.summary);
  Catalog c(store());
  EXPECT_EQ(Must(c.Children(b2.id)), std::vector<ObjectId>{clone.id});
  EXPECT_EQ(Resolve("app").id, clone.id);
  VersionRef again = Must(CloneVersion(*repo_, "base", "app", "again"));
  EXPECT_EQ(again.Name(), "app:2");

  auto missing = CloneVersion(*repo_, "nosuch", "app", "");
  ASSERT_FALSE(missing.has_value());
  EXPECT_TRUE(missing.error().IsNotFound());
  auto bad = CloneVersion(*repo_, "base", "-x", "");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Code::kInvalidArgument);
}

TEST_F(CatalogTest, ProvenanceFindsAncestorsAndDescendantsAcrossImages) {
  std::string src = Build(BaseSpec());
  VersionRef b1 = Checkin(src, "base");
  TreeSpec changed = BaseSpec();
  changed.push_back(FileNode("etc/motd", "welcome\n"));
  VersionRef b2 = Checkin(Build(changed), "base", "base:1");
  VersionRef a1 = Must(CloneVersion(*repo_, "base:2", "app", ""));
  VersionRef a2 = Checkin(src, "app", "app:1");
  VersionRef other = Checkin(src, "other");  // unrelated
  Catalog c(store());

  auto names = [](const Provenance& p) {
    std::set<std::string> s;
    for (const auto& n : p.nodes) s.insert(n.name);
    return s;
  };
  Provenance mid = Must(BuildProvenance(c, b2));
  EXPECT_EQ(mid.focus, b2.id);
  EXPECT_EQ(names(mid), (std::set<std::string>{"base:1", "base:2", "app:1", "app:2"}));
  std::string dot = ProvenanceDot(mid);
  auto edge = [](const VersionRef& from, const VersionRef& to) {
    return "\"" + from.id.Short() + "\" -> \"" + to.id.Short() + "\"";
  };
  EXPECT_NE(dot.find(edge(b1, b2)), std::string::npos) << dot;
  EXPECT_NE(dot.find(edge(b2, a1)), std::string::npos) << dot;
  EXPECT_NE(dot.find(edge(a1, a2)), std::string::npos) << dot;
  EXPECT_EQ(dot.find(other.id.Short()), std::string::npos) << dot;
  EXPECT_TRUE(dot.starts_with("digraph"));
  size_t edges = 0;
  for (size_t p = dot.find("->"); p != std::string::npos; p = dot.find("->", p + 2)) ++edges;
  EXPECT_EQ(edges, 3u) << dot;

  Provenance leaf = Must(BuildProvenance(c, a2));
  EXPECT_EQ(names(leaf), (std::set<std::string>{"base:1", "base:2", "app:1", "app:2"}));
  Provenance root = Must(BuildProvenance(c, b1));
  EXPECT_EQ(names(root), (std::set<std::string>{"base:1", "base:2", "app:1", "app:2"}));
  Provenance alone = Must(BuildProvenance(c, other));
  EXPECT_EQ(names(alone), std::set<std::string>{"other:1"});
  std::string text = ProvenanceText(mid);
  EXPECT_NE(text.find("* base:2"), std::string::npos) << text;
  EXPECT_NE(text.find("app:2"), std::string::npos) << text;
}

}  // namespace
}  // namespace cairn::catalog::testing
