// Hard-link groups against subtrees (indexer/link_groups.h): which directories a write through
// another name would not be seen in, and which groups of a parent version lie in subtrees not
// walked.
#include "indexer/link_groups.h"

#include <gtest/gtest.h>

namespace cairn::indexer {
namespace {

using Counts = std::map<std::string, uint64_t>;

TEST(LinkGroupsTest, NamesInOneDirectoryReachOutOfNothing) {
  EXPECT_EQ(NamesReachingOut({{{"a/b/f", "a/b/g"}, 2}}), Counts{});
  EXPECT_EQ(NamesReachingOut({{{"f", "g", "h"}, 3}}), Counts{});
}

TEST(LinkGroupsTest, NamesInSeveralDirectoriesReachOutOfEachUpToTheDirectoryHoldingThemAll) {
  // a/x/f and a/y/g: a holds both; a/x and a/y each hold a name whose other is outside them.
  EXPECT_EQ(NamesReachingOut({{{"a/x/f", "a/y/g"}, 2}}), (Counts{{"a/x", 1}, {"a/y", 1}}));
  // Deeper on one side: every directory between the name and the common one.
  EXPECT_EQ(NamesReachingOut({{{"a/x/p/q/f", "a/y"}, 2}}),
            (Counts{{"a/x", 1}, {"a/x/p", 1}, {"a/x/p/q", 1}}));
  // Across the top: the root holds them all.
  EXPECT_EQ(NamesReachingOut({{{"a/f", "b/g"}, 2}}), (Counts{{"a", 1}, {"b", 1}}));
  // A name in the root itself, another in a subdirectory.
  EXPECT_EQ(NamesReachingOut({{{"a/f", "g"}, 2}}), (Counts{{"a", 1}}));
  // Directories that share a prefix of their names are not nested.
  EXPECT_EQ(NamesReachingOut({{{"ab/f", "a/g"}, 2}}), (Counts{{"a", 1}, {"ab", 1}}));
}

TEST(LinkGroupsTest, AFileWithANameNotMetReachesOutOfEveryDirectoryAboveItsNames) {
  // Two names met of three (the third outside the tree, or unreadable).
  EXPECT_EQ(NamesReachingOut({{{"a/b/f", "a/b/g"}, 3}}), (Counts{{"", 2}, {"a", 2}, {"a/b", 2}}));
  EXPECT_EQ(NamesReachingOut({{{"f"}, 2}}), (Counts{{"", 1}}));
  // Counts add up over groups.
  EXPECT_EQ(NamesReachingOut({{{"a/f"}, 2}, {{"a/x/g", "b/h"}, 2}}),
            (Counts{{"", 1}, {"a", 2}, {"a/x", 1}, {"b", 1}}));
}

TEST(LinkGroupsTest, GroupsInsideTakesTheGroupsOfTheSubtreesOnly) {
  const std::vector<std::vector<std::string>> parent = {
      {"a/x/f", "a/y/g"}, {"b/f", "b/g"}, {"c/f", "d/g"}, {"e/f", "e/g"}};
  auto inside = GroupsInside(parent, {"a", "e"});
  ASSERT_TRUE(inside);
  EXPECT_EQ(*inside, (std::vector<std::vector<std::string>>{{"a/x/f", "a/y/g"}, {"e/f", "e/g"}}));
  inside = GroupsInside(parent, {"a/x", "a/y", "b"});  // a/x and a/y split a group
  EXPECT_FALSE(inside);
  inside = GroupsInside(parent, {"ab"});  // shares a prefix with none of them
  ASSERT_TRUE(inside);
  EXPECT_TRUE(inside->empty());
  inside = GroupsInside(parent, {"c"});  // c/f's other name is in d
  EXPECT_FALSE(inside);
  inside = GroupsInside(parent, {});
  ASSERT_TRUE(inside);
  EXPECT_TRUE(inside->empty());
}

// What a walk registers: names join their inode's first name and share its content; a file
// that gained or lost a name since the last checkin, with names not met, may have them beyond
// the walk; skipped names leave the groups.
TEST(LinkGroupsTest, WalkLinksGroupsNamesByInode) {
  auto stat_of = [](ino_t ino, nlink_t nlink) {
    struct stat st {};
    st.st_dev = 1;
    st.st_ino = ino;
    st.st_nlink = nlink;
    return st;
  };
  WalkLinks links;
  std::promise<Result<FileOut>> p;
  FileOut out;
  out.bytes_read = 4242;  // tells this content from any other
  p.set_value(out);
  EXPECT_EQ(links.Join(stat_of(7, 3), "a/f"), nullptr);
  links.Add(stat_of(7, 3), "a/f", p.get_future().share(), /*recorded=*/true);
  const WalkLinks::Content* joined = links.Join(stat_of(7, 3), "b/g");
  ASSERT_NE(joined, nullptr);
  EXPECT_EQ(joined->get()->bytes_read, 4242u) << "the content a/f was given";
  EXPECT_FALSE(links.BeyondWalk()) << "two names of three, but as recorded";
  std::promise<Result<FileOut>> q;
  q.set_value(FileOut{});
  links.Add(stat_of(8, 2), "c/h", q.get_future().share(), /*recorded=*/false);
  EXPECT_TRUE(links.BeyondWalk()) << "one name of two, and changed";
  links.AddOther("d/fifo", 2);
  std::vector<std::vector<std::string>> table;
  std::vector<LinkGroup> groups = links.Groups({"b/g"}, &table);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].paths, (std::vector<std::string>{"d/fifo"}));
  EXPECT_EQ(groups[1].paths, (std::vector<std::string>{"a/f"})) << "b/g skipped";
  EXPECT_EQ(groups[1].nlink, 3u);
  EXPECT_TRUE(table.empty()) << "no group of two names is left";
  links.Join(stat_of(8, 2), "e/h");
  links.Groups({}, &table);
  EXPECT_EQ(table, (std::vector<std::vector<std::string>>{{"a/f", "b/g"}, {"c/h", "e/h"}}));
}

}  // namespace
}  // namespace cairn::indexer
