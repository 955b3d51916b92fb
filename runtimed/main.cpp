// runtimed: the daemon and its command-line client.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "runtimed/cli_commands.hpp"
#include "runtimed/sandbox_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"runtimed: a Lambda-compatible function runtime for Linux"};
  app.require_subcommand(1);

  runtimed::SandboxCommandOptions sb;
  auto* sandbox_cmd =
      app.add_subcommand("sandbox", "Run one command inside one execution environment");
  sandbox_cmd->add_option("--memory-mb", sb.memory_mb, "Memory limit (MB)")
      ->check(CLI::Range(16, 10240));
  sandbox_cmd->add_option("--tmp-mb", sb.tmp_mb, "Size of /tmp (MB)")->check(CLI::Range(1, 10240));
  sandbox_cmd->add_option("--pids", sb.pids, "Process/thread limit")->check(CLI::Range(1, 1 << 20));
  sandbox_cmd->add_option("--code", sb.code_dir, "Directory bound read-only at /var/task")
      ->check(CLI::ExistingDirectory);
  sandbox_cmd->add_flag("--cpu-quota", sb.cpu_quota, "Hard CPU quota of memory/1769 CPUs");
  sandbox_cmd->add_flag("--tmpfs-tmp", sb.tmpfs_tmp, "/tmp on tmpfs (counts toward memory)");
  sandbox_cmd->add_option("--cgroup-parent", sb.cgroup_parent, "Parent cgroup of environments");
  sandbox_cmd->add_option("--state-dir", sb.state_dir,
                          "State directory (default: a temporary one)");
  sandbox_cmd->add_option("--env", sb.env, "KEY=VALUE for the command's environment");
  sandbox_cmd->add_option("command", sb.command, "Command and arguments (after --)")->required();

  runtimed::ClientCommands client;
  runtimed::add_client_commands(app, client);

  CLI11_PARSE(app, argc, argv);
  if (sandbox_cmd->parsed()) return runtimed::run_sandbox_command(sb);
  if (auto status = runtimed::run_client_command(client)) return *status;
  return 0;
}
