#include "base/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

#include "base/result.h"

namespace cairn {
namespace {

TEST(StatusTest, DefaultIsOkWithEmptyMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, FactoriesCarryTheirCodeAndMessage) {
  struct Case {
    Status s;
    Code code;
  };
  Case cases[] = {
      {Status::InvalidArgument("a"), Code::kInvalidArgument},
      {Status::NotFound("a"), Code::kNotFound},
      {Status::Ambiguous("a"), Code::kAmbiguous},
      {Status::Corruption("a"), Code::kCorruption},
      {Status::IOError("a"), Code::kIOError},
      {Status::NoSpace("a"), Code::kNoSpace},
      {Status::Busy("a"), Code::kBusy},
      {Status::AlreadyExists("a"), Code::kAlreadyExists},
      {Status::NotSupported("a"), Code::kNotSupported},
      {Status::PermissionDenied("a"), Code::kPermissionDenied},
      {Status::Internal("a"), Code::kInternal},
  };
  for (const auto& c : cases) {
    EXPECT_FALSE(c.s.ok());
    EXPECT_EQ(c.s.code(), c.code);
    EXPECT_EQ(c.s.message(), "a");
    EXPECT_EQ(c.s.ToString(), "a");
    EXPECT_NE(CodeName(c.code), CodeName(Code::kOk));
  }
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_FALSE(Status::NotFound("x").IsCorruption());
  EXPECT_TRUE(Status::Corruption("x").IsCorruption());
}

TEST(StatusTest, ConstructingWithCodeOkGivesOk) {
  Status s(Code::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, CopiesAreDeepAndIndependent) {
  Status a = Status::NotFound("read blob 3fa1: missing");
  Status b = a;
  EXPECT_EQ(b.code(), Code::kNotFound);
  EXPECT_EQ(b.message(), a.message());
  a = Status::Busy("other");
  EXPECT_EQ(b.code(), Code::kNotFound);
  EXPECT_EQ(b.message(), "read blob 3fa1: missing");
  b = Status();
  EXPECT_TRUE(b.ok());
  Status c = std::move(a);
  EXPECT_EQ(c.code(), Code::kBusy);
}

TEST(StatusTest, WithContextPrefixesTheMessageAndKeepsTheCode) {
  Status s = Status::Corruption("checksum mismatch").WithContext("read blob 3fa1c2d0");
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(s.message(), "read blob 3fa1c2d0: checksum mismatch");
  EXPECT_TRUE(Status().WithContext("anything").ok());
}

TEST(StatusTest, ErrnoStatusMapsErrnoToCodesAndNamesTheSubject) {
  Status s = ErrnoStatus("open", "/no/such/file", ENOENT);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("open /no/such/file: "), std::string::npos) << s.message();
  EXPECT_EQ(ErrnoStatus("write", "f", ENOSPC).code(), Code::kNoSpace);
  EXPECT_EQ(ErrnoStatus("write", "f", EDQUOT).code(), Code::kNoSpace);
  EXPECT_EQ(ErrnoStatus("open", "f", EACCES).code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("open", "f", EPERM).code(), Code::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("read", "f", EIO).code(), Code::kIOError);
  EXPECT_EQ(ErrnoStatus("sync", "", EIO).message().rfind("sync: ", 0), 0u);
}

Status FailIf(bool fail, int* reached) {
  CAIRN_RETURN_IF_ERROR(fail ? Status::IOError("boom") : Status());
  ++*reached;
  return Status();
}

TEST(StatusTest, ReturnIfErrorReturnsOnlyErrors) {
  int reached = 0;
  EXPECT_TRUE(FailIf(false, &reached).ok());
  EXPECT_EQ(reached, 1);
  Status s = FailIf(true, &reached);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.message(), "boom");
  EXPECT_EQ(reached, 1);
}

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::InvalidArgument("half " + std::to_string(n) + ": odd");
  return n / 2;
}

Result<int> Quarter(int n, int* reached) {
  CAIRN_ASSIGN_OR_RETURN(int h, Half(n));
  CAIRN_ASSIGN_OR_RETURN(int q, Half(h));
  ++*reached;
  return q;
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<int> v = Half(8);
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(static_cast<bool>(v));
  EXPECT_EQ(*v, 4);
  EXPECT_EQ(v.value(), 4);
  EXPECT_TRUE(v.status().ok());
  Result<int> e = Half(3);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "half 3: odd");
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  int reached = 0;
  Result<int> ok = Quarter(12, &reached);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, 3);
  EXPECT_EQ(reached, 1);
  Result<int> inner = Quarter(6, &reached);  // 6 -> 3, then 3 is odd
  ASSERT_FALSE(inner.has_value());
  EXPECT_EQ(inner.error().message(), "half 3: odd");
  Result<int> outer = Quarter(5, &reached);
  ASSERT_FALSE(outer.has_value());
  EXPECT_EQ(outer.error().message(), "half 5: odd");
  EXPECT_EQ(reached, 1);
}

TEST(ResultTest, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(**r, 7);
  std::unique_ptr<int> taken = std::move(r).value();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
}

}  // namespace
}  // namespace cairn
