// The filesystem-view plan: what a sandbox sees, decided as pure data before any mount happens.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "sandbox/filesystem_view.hpp"

namespace {

using sandbox::init_protocol::Step;
using sandbox::init_protocol::StepKind;

// A host where /bin, /lib and /sbin are symlinks into /usr (merged /usr), /lib64 is a directory,
// and only some /etc entries exist.
sandbox::HostFilesystem fake_host() {
  static const std::map<std::string, std::string> symlinks = {
      {"/bin", "usr/bin"},
      {"/lib", "usr/lib"},
      {"/sbin", "usr/sbin"},
      {"/etc/localtime", "/usr/share/zoneinfo/Etc/UTC"}};
  static const std::set<std::string> dirs = {"/usr", "/lib64", "/etc/ssl", "/etc/alternatives"};
  static const std::set<std::string> files = {"/etc/ld.so.cache", "/etc/hosts",   "/dev/null",
                                              "/dev/zero",        "/dev/urandom", "/dev/random",
                                              "/dev/full"};
  sandbox::HostFilesystem fs;
  fs.exists = [](const std::string& p) {
    return symlinks.count(p) || dirs.count(p) || files.count(p);
  };
  fs.is_symlink = [](const std::string& p) { return symlinks.count(p) > 0; };
  fs.is_directory = [](const std::string& p) { return dirs.count(p) > 0; };
  fs.read_link = [](const std::string& p) { return symlinks.at(p); };
  return fs;
}

std::vector<Step> plan() {
  sandbox::FilesystemViewOptions o;
  o.staging_root = "/state/envs/e1/root";
  o.scratch_dir = "/state/envs/e1/tmp";
  return sandbox::plan_filesystem_view(o, fake_host());
}

bool has(const std::vector<Step>& steps, StepKind kind, const std::string& target,
         const std::string& source = "") {
  return std::any_of(steps.begin(), steps.end(), [&](const Step& s) {
    return s.kind == kind && s.target == target && (source.empty() || s.source == source);
  });
}

TEST(FilesystemViewPlan, StartsPrivateAndEndsPivotedIntoAReadOnlyRoot) {
  const auto steps = plan();
  ASSERT_GE(steps.size(), 4u);
  EXPECT_EQ(steps.front().kind, StepKind::MakeRootPrivate);
  EXPECT_EQ(steps[1].kind, StepKind::Tmpfs);
  EXPECT_EQ(steps[1].target, "/state/envs/e1/root");
  EXPECT_EQ(steps.back().kind, StepKind::PivotRoot);
  EXPECT_EQ(steps[steps.size() - 2].kind, StepKind::RemountReadOnly);
  EXPECT_EQ(steps[steps.size() - 2].target, "/state/envs/e1/root");
}

TEST(FilesystemViewPlan, HostSystemDirectoriesAreReadOnlyAndMergedUsrLinksStayLinks) {
  const auto steps = plan();
  EXPECT_TRUE(has(steps, StepKind::BindReadOnly, "/usr", "/usr"));
  EXPECT_TRUE(has(steps, StepKind::BindReadOnly, "/lib64", "/lib64"));
  EXPECT_TRUE(has(steps, StepKind::Symlink, "/bin", "usr/bin"));
  EXPECT_TRUE(has(steps, StepKind::Symlink, "/lib", "usr/lib"));
  // Absent on the host: not planned at all.
  EXPECT_FALSE(has(steps, StepKind::BindReadOnly, "/lib32"));
  EXPECT_FALSE(has(steps, StepKind::Symlink, "/lib32"));
  // Nothing of the host is ever bound writable except /tmp and the device nodes.
  for (const auto& s : steps) {
    if (s.kind == StepKind::BindWritable) {
      EXPECT_TRUE(s.target == "/tmp" || s.target.starts_with("/dev/")) << s.target;
    }
  }
}

TEST(FilesystemViewPlan, EtcHasOnlyWhatRuntimesNeedPlusAGeneratedPasswd) {
  const auto steps = plan();
  EXPECT_TRUE(has(steps, StepKind::BindReadOnly, "/etc/ld.so.cache"));
  EXPECT_TRUE(has(steps, StepKind::BindReadOnly, "/etc/ssl"));
  EXPECT_TRUE(has(steps, StepKind::Symlink, "/etc/localtime", "/usr/share/zoneinfo/Etc/UTC"));
  EXPECT_FALSE(has(steps, StepKind::BindReadOnly, "/etc/shadow"));
  auto passwd = std::find_if(steps.begin(), steps.end(), [](const Step& s) {
    return s.kind == StepKind::WriteFile && s.target == "/etc/passwd";
  });
  ASSERT_NE(passwd, steps.end());
  EXPECT_NE(passwd->data.find("sbx_user1051:x:993:990:"), std::string::npos);
}

TEST(FilesystemViewPlan, DevIsMinimalAndTmpComesFromTheScratchDisk) {
  const auto steps = plan();
  for (const char* node : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}) {
    EXPECT_TRUE(has(steps, StepKind::BindWritable, node, node)) << node;
  }
  EXPECT_TRUE(has(steps, StepKind::Tmpfs, "/dev"));
  EXPECT_TRUE(has(steps, StepKind::RemountReadOnly, "/dev"));
  EXPECT_TRUE(has(steps, StepKind::Proc, "/proc"));
  EXPECT_TRUE(has(steps, StepKind::BindWritable, "/tmp", "/state/envs/e1/tmp"));
  EXPECT_TRUE(has(steps, StepKind::Mkdir, "/var/task"));
  EXPECT_TRUE(has(steps, StepKind::Mkdir, "/var/runtime"));
  EXPECT_TRUE(has(steps, StepKind::Mkdir, "/opt"));
}

TEST(FilesystemViewPlan, GeneratedPasswdFollowsTheConfiguredIds) {
  EXPECT_NE(sandbox::generated_passwd(1000, 1001).find("sbx_user1051:x:1000:1001:"),
            std::string::npos);
  EXPECT_NE(sandbox::generated_group(1001).find("sbx_user1051:x:1001:"), std::string::npos);
}

}  // namespace
