// A PostgreSQL 15 server of the test's own: initdb into a temp dir, listening on a Unix socket in
// that dir only (no TCP), run as the unprivileged `postgres` user (initdb refuses root; `nobody`
// when there is no such user), stopped and removed at destruction. Never the system's service.
#pragma once

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/integration/support.hpp"

namespace testsupport {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // Makes the cluster and, unless `start_now` is false, starts the server.
  explicit PostgresServer(bool start_now = true) : dir_("rt-pg"), port_(free_port()) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) throw std::runtime_error("PostgresServer: no postgres or nobody user");
    user_ = pw->pw_name;
    if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("PostgresServer: chown " + dir_.path().string());
    if (!std::filesystem::exists(std::filesystem::path(kBinDir) / "initdb"))
      throw std::runtime_error(std::string("PostgresServer: no ") + kBinDir +
                               "/initdb (scripts/setup.sh installs postgresql-15)");
    // --no-sync: a test's database need not survive a power cut.
    run_as_user({"initdb", "-D", data_dir(), "-A", "trust", "-U", "postgres", "--no-sync", "-E",
                 "UTF8", "--locale=C"},
                "initdb");
    if (start_now) start();
  }

  ~PostgresServer() {
    if (running_) stop();
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // pg_ctl start, waiting (30 s at most) until it accepts connections.
  void start() {
    // listen_addresses='': the Unix socket in our dir only, no TCP. fsync off: test data.
    const std::string options = "-k " + dir_.path().string() +
                                " -c listen_addresses='' -c fsync=off -p " + std::to_string(port_);
    run_as_user(
        {"pg_ctl", "-D", data_dir(), "-l", log_path(), "-w", "-t", "30", "-o", options, "start"},
        "pg_ctl start");
    running_ = true;
  }
  // pg_ctl stop -m immediate: connections are cut at once (as a crash would).
  void stop() {
    run_as_user({"pg_ctl", "-D", data_dir(), "-m", "immediate", "-w", "-t", "30", "stop"},
                "pg_ctl stop");
    running_ = false;
  }

  // A libpq URL reaching it over its socket as the superuser.
  std::string url(const std::string& database = "postgres") const {
    return "postgresql:///" + database + "?host=" + dir_.path().string() +
           "&port=" + std::to_string(port_) + "&user=postgres";
  }
  std::string log() const {
    std::ifstream in(log_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string data_dir() const { return (dir_.path() / "data").string(); }
  std::string log_path() const { return (dir_.path() / "server.log").string(); }

  // `args` (args[0] a program in kBinDir) as the server's user, from its own directory (the
  // user may not enter the test's working directory).
  void run_as_user(std::vector<std::string> args, const std::string& what) const {
    args[0] = std::string(kBinDir) + "/" + args[0];
    std::vector<std::string> command = {
        "/usr/sbin/runuser", "-u", user_, "--", "/usr/bin/env", "-C", dir_.path().string()};
    command.insert(command.end(), args.begin(), args.end());
    const CommandRun run = run_command(command);
    if (run.status != 0)
      throw std::runtime_error("PostgresServer: " + what + " failed (" +
                               std::to_string(run.status) + "): " + run.out + run.err + log());
  }

  TempDir dir_;
  int port_;
  std::string user_;
  bool running_ = false;
};

}  // namespace testsupport
