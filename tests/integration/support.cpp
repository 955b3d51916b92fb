#include "tests/integration/support.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace testsupport {

std::filesystem::path bin_path(const std::string& name) {
  return std::filesystem::path(RUNTIMED_BIN_DIR) / name;
}
std::filesystem::path source_path(const std::string& rel) {
  return std::filesystem::path(RUNTIMED_SOURCE_DIR) / rel;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!bound) throw std::runtime_error("no free loopback port");
  return ntohs(addr.sin_port);
}

std::ostream& operator<<(std::ostream& os, const CommandRun& r) {
  return os << "exit " << r.status << "\nstdout: " << r.out << "\nstderr: " << r.err;
}

namespace {
std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

CommandRun run_command(const std::vector<std::string>& args,
                       const std::optional<std::vector<std::string>>& env) {
  TempDir scratch("rt-cmd");
  const auto out = scratch.path() / "out";
  const auto err = scratch.path() / "err";
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (env) {
    for (const auto& e : *env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&fa);
  CommandRun run;
  if (rc != 0) {
    run.err = "could not start " + args[0];
    return run;
  }
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (WIFEXITED(wstatus)) run.status = WEXITSTATUS(wstatus);
  run.out = read_all(out);
  run.err = read_all(err);
  return run;
}

TempDir::TempDir(const std::string& prefix, const std::filesystem::path& parent) {
  const std::filesystem::path base =
      parent.empty() ? std::filesystem::temp_directory_path() : parent;
  std::string templ = (base / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> aws_client_env(const std::filesystem::path& home, const std::string& key,
                                        const std::string& secret) {
  const std::string h = home.string();
  return {"HOME=" + h,
          "AWS_ACCESS_KEY_ID=" + key,
          "AWS_SECRET_ACCESS_KEY=" + secret,
          "AWS_DEFAULT_REGION=us-east-1",
          "AWS_PAGER=",
          "AWS_EC2_METADATA_DISABLED=true",
          "AWS_CONFIG_FILE=" + h + "/none",
          "AWS_SHARED_CREDENTIALS_FILE=" + h + "/none",
          "PATH=/usr/bin:/bin"};
}

CommandRun run_client_script(const std::string& script, const std::vector<std::string>& args,
                             const std::filesystem::path& home) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   source_path("tests/integration/clients/" + script).string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(
      argv, std::vector<std::string>{"HOME=" + home.string(), "AWS_EC2_METADATA_DISABLED=true",
                                     "PATH=/usr/bin:/bin"});
}

const AwsSdkJs& aws_sdk_js() {
  static const AwsSdkJs install = [] {
    AwsSdkJs sdk;
    const auto run = run_command({source_path("scripts/install-aws-sdk-js.sh").string()});
    sdk.exit_status = run.status;
    sdk.dir = run.out;
    while (!sdk.dir.empty() && (sdk.dir.back() == '\n' || sdk.dir.back() == '\r'))
      sdk.dir.pop_back();
    if (run.status != 0) std::cerr << run.err;
    return sdk;
  }();
  return install;
}

CommandRun run_sdk_script(const std::string& script, const std::vector<std::string>& args,
                          const std::filesystem::path& home) {
  std::vector<std::string> argv = {"/usr/bin/node",
                                   source_path("tests/integration/clients/" + script).string(),
                                   aws_sdk_js().dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(
      argv, std::vector<std::string>{"HOME=" + home.string(), "AWS_EC2_METADATA_DISABLED=true",
                                     "PATH=/usr/bin:/bin"});
}

}  // namespace testsupport
