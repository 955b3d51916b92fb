// Cluster mode's pieces that need no database: the node id kept in the state dir and the status
// table `runtimed cluster status` prints.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "runtimed/cli/cli_cluster_commands.hpp"
#include "runtimed/cluster/node_identity.hpp"

namespace {

class StateDir {
 public:
  StateDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "rt-node-id-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = templ;
  }
  ~StateDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ClusterNodeIdentityTest, TheGeneratedIdIsKeptAcrossStarts) {
  StateDir state;
  auto first = cluster::stable_node_id(state.path());
  ASSERT_TRUE(first) << first.error();
  EXPECT_TRUE(first->starts_with("node-")) << *first;
  EXPECT_TRUE(cluster::valid_node_id(*first));
  auto again = cluster::stable_node_id(state.path());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first);
  EXPECT_FALSE(std::filesystem::exists(state.path() / "cluster-node-id.partial"));
  // Another state dir is another node.
  StateDir other;
  EXPECT_NE(*cluster::stable_node_id(other.path()), *first);
}

TEST(ClusterNodeIdentityTest, AnUnreadableIdIsRefusedNotReplaced) {
  StateDir state;
  std::ofstream(state.path() / "cluster-node-id") << "bad id with spaces\n";
  auto id = cluster::stable_node_id(state.path());
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().find("cluster-node-id"), std::string::npos) << id.error();
}

TEST(ClusterNodeIdentityTest, NodeIdsAreShortAndPlain) {
  EXPECT_TRUE(cluster::valid_node_id("n1"));
  EXPECT_TRUE(cluster::valid_node_id("rack-2.node_7"));
  EXPECT_FALSE(cluster::valid_node_id(""));
  EXPECT_FALSE(cluster::valid_node_id("a b"));
  EXPECT_FALSE(cluster::valid_node_id("a/b"));
  EXPECT_FALSE(cluster::valid_node_id(std::string(129, 'a')));
}

TEST(ClusterStatusTableTest, OneNodeALineWithTheAnsweringNodeMarked) {
  const auto body = nlohmann::json::parse(R"({
    "NodeId": "n1", "FencingToken": 2, "LeaseSeconds": 2.0,
    "Nodes": [
      {"NodeId": "n1", "Address": "http://127.0.0.1:9001", "State": "live",
       "LeaseRemainingMs": 1630, "HeartbeatAgeMs": 370, "FencingToken": 2, "InFlight": 5,
       "AsyncInFlight": 17, "StartedAt": "2026-01-01T00:00:00.000Z"},
      {"NodeId": "n2", "Address": "http://127.0.0.1:9002", "State": "dead",
       "LeaseRemainingMs": -2100, "HeartbeatAgeMs": 4100, "FencingToken": 3, "InFlight": 0,
       "StartedAt": "2026-01-01T00:00:00.000Z"}],
    "AsyncEvents": {"Queued": 250, "InFlight": 17}})");
  const std::string table = runtimed::format_cluster_status(body);
  std::vector<std::string> lines;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u) << table;
  EXPECT_TRUE(lines[0].starts_with("NODE")) << table;
  EXPECT_TRUE(lines[1].starts_with("n1 *")) << table;
  EXPECT_NE(lines[1].find("live"), std::string::npos);
  EXPECT_NE(lines[1].find("1.6s"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("0.4s ago"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find(" 17 "), std::string::npos) << lines[1];
  // A dead node's lease has run out: no time left is shown.
  EXPECT_TRUE(lines[2].starts_with("n2 ")) << table;
  EXPECT_NE(lines[2].find("dead"), std::string::npos);
  EXPECT_EQ(lines[2].find("-2.1s"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("4.1s ago"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[3], "async events: 250 queued, 17 in flight");
}

}  // namespace
