// A PostgreSQL 15 server of the test's own: a fresh cluster in a temp dir (initdb's, copied),
// listening on a Unix socket in that dir only (no TCP), run as the unprivileged `postgres` user
// (initdb refuses root; `nobody` when there is no such user), stopped and removed at destruction.
// Never the system's service. The postmaster is this process's child with a parent-death signal
// (not pg_ctl's daemon), so a test that crashes or is killed takes its server with it.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/unique_fd.hpp"
#include "tests/integration/support.hpp"

namespace testsupport {

class PostgresServer {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  // Makes the cluster and, unless `start_now` is false, starts the server.
  // `durable`: fsync as in production (benchmarks); tests run without it.
  explicit PostgresServer(bool start_now = true, bool durable = false)
      : dir_("rt-pg", durable ? std::filesystem::path{} : memory_dir()),
        port_(free_port()),
        durable_(durable) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) pw = ::getpwnam("nobody");
    if (!pw) throw std::runtime_error("PostgresServer: no postgres or nobody user");
    user_ = pw->pw_name;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("PostgresServer: chown " + dir_.path().string());
    if (!std::filesystem::exists(std::filesystem::path(kBinDir) / "initdb"))
      throw std::runtime_error(std::string("PostgresServer: no ") + kBinDir +
                               "/initdb (scripts/setup.sh installs postgresql-15)");
    make_cluster();
    if (start_now) start();
  }

  ~PostgresServer() { stop(); }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the postmaster and waits (30 s at most) until it accepts connections.
  void start() {
    // listen_addresses='': the Unix socket in our dir only, no TCP. fsync off unless durable:
    // test data.
    std::vector<std::string> args = {std::string(kBinDir) + "/postgres",
                                     "-D",
                                     data_dir(),
                                     "-k",
                                     dir_.path().string(),
                                     "-p",
                                     std::to_string(port_),
                                     "-c",
                                     "listen_addresses=",
                                     "-c",
                                     durable_ ? "fsync=on" : "fsync=off"};
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string dir = dir_.path().string();
    const int log_fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) throw std::runtime_error("PostgresServer: open " + log_path());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      // Only system calls until exec. The death signal is set after setuid, which clears it;
      // SIGQUIT is the postmaster's immediate shutdown.
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0) ::_exit(126);
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) ::_exit(1);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    if (pid_ < 0) throw std::runtime_error("PostgresServer: fork");
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      const CommandRun ready = run_command({std::string(kBinDir) + "/pg_isready", "-q", "-h", dir,
                                            "-p", std::to_string(port_), "-t", "1"});
      if (ready.status == 0) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("PostgresServer: postgres exited at start: " + log());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    throw std::runtime_error("PostgresServer: postgres did not accept connections: " + log());
  }
  // Immediate shutdown (SIGQUIT): connections are cut at once, as in a crash.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

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
  // A test's cluster lives in memory (/dev/shm), a durable one on disk. Copying the template's
  // ~1,000 files into /tmp took 2 % of a whole ctest's CPU, most of it in ext4 choosing each
  // file's inode (it passes over recently deleted ones, and the tests delete files all the time).
  static std::filesystem::path memory_dir() {
    std::error_code ec;
    return std::filesystem::is_directory("/dev/shm", ec) ? std::filesystem::path("/dev/shm")
                                                         : std::filesystem::path{};
  }

  std::string data_dir() const { return (dir_.path() / "data").string(); }
  std::string log_path() const { return (dir_.path() / "server.log").string(); }

  // The cluster in data_dir(): a copy of the build's template cluster, which the first server of
  // the build makes with initdb (copying takes ~0.3 s of CPU, initdb ~0.9 s; a cluster test's
  // servers are most of its set-up). The template's name carries initdb's options: change them,
  // change the name.
  void make_cluster() {
    namespace fs = std::filesystem;
    const fs::path template_dir =
        fs::path(RUNTIMED_BIN_DIR).parent_path() / "pg-template-15-trust-utf8-c";
    // One test at a time makes it or reads whether it is there; the lock goes with the fd.
    const std::string lock_path = template_dir.string() + ".lock";
    const sandbox::UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock) throw std::runtime_error("PostgresServer: open " + lock_path);
    if (::flock(lock.get(), LOCK_EX) != 0)
      throw std::runtime_error("PostgresServer: flock " + lock_path);
    if (fs::exists(template_dir / "data" / "PG_VERSION")) {
      copy_tree(template_dir / "data", data_dir());
      return;
    }
    // --no-sync: a test's database need not survive a power cut.
    run_as_user({"initdb", "-D", data_dir(), "-A", "trust", "-U", "postgres", "--no-sync", "-E",
                 "UTF8", "--locale=C"},
                "initdb");
    // Made aside and renamed, so a test killed meanwhile leaves no half template.
    const fs::path making = template_dir.string() + ".making";
    fs::remove_all(making);
    fs::create_directories(making);
    copy_tree(data_dir(), making / "data");
    fs::rename(making, template_dir);
  }
  // cp -a: owner, modes (postgres wants 0700) and links as they are.
  static void copy_tree(const std::filesystem::path& from, const std::filesystem::path& to) {
    const CommandRun run = run_command({"/bin/cp", "-a", from.string(), to.string()});
    if (run.status != 0)
      throw std::runtime_error("PostgresServer: cp -a " + from.string() + " " + to.string() + ": " +
                               run.err);
  }

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
  bool durable_;
  std::string user_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;  // the postmaster, while running
};

}  // namespace testsupport
