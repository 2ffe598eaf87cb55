#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "observernet/app/app.hpp"
#include "observernet/app/build_info.hpp"
#include "observernet/error.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/util/log.hpp"

namespace observernet::app {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kMainHelp = R"(observernet — verifiable online elections server

Usage: observernet <command> [options]

Commands:
  serve     run the HTTP API server
  migrate   apply pending database migrations and exit
  version   print the version and exit

Run 'observernet <command> --help' for a command's options. Configuration comes from
--config FILE, then OBSERVERNET_* environment variables (which win), then flags;
config/observernet.example.toml documents every key.
)";

constexpr const char* kServeHelp = R"(Usage: observernet serve [options]

Runs the API server until SIGTERM or SIGINT, then drains and exits 0.

Options:
  --config FILE       configuration file (TOML subset; env: OBSERVERNET_CONFIG)
  --host ADDRESS      listen address (http.host)
  --port PORT         listen port, 0 for any free port (http.port)
  --threads N         I/O threads, 0 for one per core (http.threads)
  --log-format FMT    human or json (log.format)
  --migrate           apply pending migrations before serving (database.migrate_on_start)
  -h, --help          show this help
)";

constexpr const char* kMigrateHelp = R"(Usage: observernet migrate [options]

Applies pending schema migrations under a PostgreSQL advisory lock (safe when several
pods start at once) and exits. Running it again when nothing is pending does nothing.

Options:
  --config FILE       configuration file (env: OBSERVERNET_CONFIG)
  --log-format FMT    human or json (log.format)
  -h, --help          show this help
)";

constexpr const char* kVersionHelp = R"(Usage: observernet version

Prints the version and the commit it was built from.
)";

struct Flag {
  const char* name;
  const char* key;  // nullptr: --config, handled apart
  bool takes_value;
};

struct Command {
  const char* name;
  const char* help;
  std::vector<Flag> flags;
};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"serve",
       kServeHelp,
       {{"--config", nullptr, true},
        {"--host", "http.host", true},
        {"--port", "http.port", true},
        {"--threads", "http.threads", true},
        {"--log-format", "log.format", true},
        {"--migrate", "database.migrate_on_start", false}}},
      {"migrate",
       kMigrateHelp,
       {{"--config", nullptr, true}, {"--log-format", "log.format", true}}},
      {"version", kVersionHelp, {}},
  };
  return all;
}

int usage_error(const std::string& message, const char* command) {
  std::fprintf(stderr, "observernet: %s (see 'observernet %s--help')\n", message.c_str(),
               command ? (std::string(command) + " ").c_str() : "");
  return kExitUsage;
}

int serve(Config config) {
  App app(std::move(config));
  app.start();
  return app.run();
}

int migrate(const Config& config) {
  auto result = store::migrate(config.database.url);
  log::info("migrations_applied",
            {{"applied", result.applied.size()}, {"schema_version", result.version}});
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    if (args.size() >= 2) {
      for (const auto& c : commands()) {
        if (args[1] == c.name) {
          std::fputs(c.help, stdout);
          return 0;
        }
      }
    }
    std::fputs(kMainHelp, args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : 0;
  }
  const Command* command = nullptr;
  for (const auto& c : commands()) {
    if (args[0] == c.name) command = &c;
  }
  if (!command) return usage_error("unknown command '" + args[0] + "'", nullptr);

  RawConfig overrides;
  std::string config_file;
  if (const char* env = std::getenv("OBSERVERNET_CONFIG")) config_file = env;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(command->help, stdout);
      return 0;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    const Flag* flag = nullptr;
    for (const auto& f : command->flags) {
      if (name == f.name) flag = &f;
    }
    if (!flag) return usage_error("unknown option '" + name + "'", command->name);
    if (flag->takes_value && !inline_value) {
      if (i + 1 >= args.size()) return usage_error(name + " needs a value", command->name);
      value = args[++i];
    } else if (!flag->takes_value) {
      if (inline_value) return usage_error(name + " takes no value", command->name);
      value = "true";
    }
    if (flag->key) {
      overrides[flag->key] = value;
    } else {
      config_file = value;
    }
  }

  if (std::string(command->name) == "version") {
    std::printf("observernet %s (commit %s, schema %d)\n", kVersion, kGitCommit,
                store::latest_migration_version());
    return 0;
  }

  Config config;
  try {
    config = load_config(config_file, overrides);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "observernet: invalid config: %s\n", e.what());
    return kExitUsage;
  }
  log::setup(config.log.format, config.log.level);
  try {
    return std::string(command->name) == "serve" ? serve(std::move(config)) : migrate(config);
  } catch (const Error& e) {
    log::error("fatal", {{"error", e.log_detail().empty() ? e.detail() : e.log_detail()}});
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
  }
  return kExitFailure;
}

}  // namespace observernet::app
