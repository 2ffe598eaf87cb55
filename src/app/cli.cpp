#include <openssl/crypto.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "observernet/app/app.hpp"
#include "observernet/app/build_info.hpp"
#include "observernet/client/http_client.hpp"
#include "observernet/client/verify.hpp"
#include "observernet/client/voter.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"
#include "observernet/service/token_keys.hpp"
#include "observernet/store/migrations.hpp"
#include "observernet/util/log.hpp"

namespace observernet::app {
namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kMainHelp = R"(observernet — verifiable online elections server

Usage: observernet <command> [options]

Commands:
  serve        run the HTTP API server
  migrate      apply pending database migrations and exit
  sealing-key  print the public key new elections' token keys are sealed to
  version      print the version and exit
  vote         cast a ballot as a voter, against a running server
  verify       check an election's public bulletin board, as an observer

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

constexpr const char* kSealingKeyHelp = R"(Usage: observernet sealing-key --master-key-file FILE

Prints the sealing public key of a master key (auth.master_key), 64 hex digits on one
line: the value of auth.sealing_public_key for the processes that create elections but
must not hold the master key (http.routes = api). The key is derived from the master key
(docs/security.md, Keys), so printing it again gives the same value.

Options:
  --master-key-file F  read the master key, 64 hex digits, from the first line of F
                       ('-': stdin); never on the command line, where other local users
                       could read it in the process list
  -h, --help           show this help

Exit status: 0 when the key is printed; 2 for usage errors (no such file, not a key).
)";

constexpr const char* kVersionHelp = R"(Usage: observernet version

Prints the version and the commit it was built from.
)";

constexpr const char* kVoteHelp = R"(Usage: observernet vote --url URL --election ID --voter-id ID
                        (--credential C | --credential-file FILE) --select CONTEST=OPTION...
                        [--max-delay SECONDS]

Casts one ballot as a voter: checks the election's token key (its keyId, and that it is
the key the election's audit chain announced), gets a blind signature on a random token
(RFC 9474), waits a random time, casts the ballot with the token, and checks that the
receipt the server returns is the hash of the ballot sent. Prints keyId, receipt and
acceptedAt, one per line; keep the receipt, it finds your ballot on the public bulletin
board. Then, if the server says, the ballot's status: "status sequenced" once it is on
the board, or "status pending" and "dueBy TIME" (or "dueBy close"): ballots are
published in sets, and yours will be on the board by then at the latest.

Options:
  --url URL              the server: http://host[:port][/path]. No TLS: use http for
                         local use, or reach the server through a TLS-terminating proxy
  --election ID          the election's id (a UUID)
  --voter-id ID          your voter id
  --credential C         your credential (other local users can read it in the process
                         list: prefer --credential-file)
  --credential-file F    read the credential from the first line of F ('-': stdin)
  --select C=O           choose option O in contest C; repeat for each choice
  --max-delay SECONDS    send the ballot a random time between 0 and SECONDS after the
                         token arrives, so that the two requests are apart in time
                         (default 30; 0: at once)
  -h, --help             show this help

Exit status: 0 once the ballot is accepted and its receipt checked; 1 when the server
refuses the vote or cannot be reached (one line on stderr); 2 for usage errors.
)";

constexpr const char* kVerifyHelp =
    R"(Usage: observernet verify (--url URL [--save DIR] | --offline DIR) --election ID
                          [--receipt R] [--voter-hash H] [--state FILE] [--log-key-id HEX]

Downloads an election's public bulletin board and checks it without trusting the
server; with --save, keeps everything it downloaded, so that it can be checked again
with --offline, with no server at all. Prints one line per check, in this order, then
the verdict:

  PASS  token signatures: 1000 ballots, 1000 distinct tokens, signed with token key ...
  FAIL  tree head: the root of the 1000 leaves is 3a7f9c0e11223344..., the tree head ...
  SKIP  recount: the results are not published before the election closes
  verdict: FAIL (1 failed, 7 passed, 2 skipped)

Checks:
  token signatures  every ballot's token is a valid RSASSA-PSS signature (RFC 9474)
                    under the election's token key, the key its audit chain announced;
                    no token is used twice
  ballots           every ballot keeps the election's rules (the contests on its audit
                    chain), and its receipt is the hash of its leaf
  tree head         the ballots are leaves 0 to size-1 of the Merkle tree (RFC 9162)
                    whose root the tree head holds; the tree head is signed with the log
                    key and, once the election is closed, is the final one on the chain
  consistency       every tree head kept in the state file from earlier runs is a prefix
                    of the newest (consistency proofs); the newest is then kept too
  audit chain       the audit events form an unbroken hash chain from seq 1, holding
                    the events every signed tree head seen pins
  roll              the voter hashes on the roll are those the audit chain committed to,
                    at the opening and at each import after it
  issued tokens     every voter hash issued a token is on the roll; ballots <= issued
                    <= roll; once closed, the list holds every token the close counted
  voter hash        with --voter-hash: whether that voter is on the roll, and whether a
                    token was issued in their name; skipped without --voter-hash
  recount           counting the ballots gives the published results (and, once closed,
                    the results on the audit chain); skipped while none are published
  receipt           with --receipt: the ballot is listed, and its inclusion proof leads
                    to the signed root; skipped without --receipt

Options:
  --url URL           the server: http://host[:port][/path] (no TLS: reach an https
                      server through a TLS-terminating proxy)
  --save DIR          keep every answer read from the server in DIR (created if need
                      be): the election, its ballots, tree head, audit chain, results
                      and keys, one file per request, bodies as received
  --offline DIR       read the answers from DIR, as --save left them, instead of from a
                      server: the same checks, with no network; an archive that was
                      altered fails them as a server would
  --election ID       the election's id (a UUID)
  --receipt R         a receipt from 'observernet vote' (64 hex digits) to look for
  --voter-hash H      your voter hash (64 hex digits, from your invitation or booth):
                      tells whether a token was issued in your name
  --state FILE        the tree heads seen on earlier runs (default:
                      $XDG_STATE_HOME/observernet/verify-<election>.json, else
                      ~/.local/state/observernet/verify-<election>.json)
  --log-key-id HEX    the id (SHA-256 of the raw key, 64 hex digits) of the log key as
                      learnt elsewhere than from this server: tree heads signed with any
                      other key fail. Without it the server's own key is used, and printed
  -h, --help          show this help

Exit status: 0 when no check failed; 1 when a check failed (a server that cannot be
reached fails them all); 2 for usage errors.
)";

struct Flag {
  const char* name;
  const char* key;  // the config key it sets; nullptr: the command reads it itself
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
      {"sealing-key", kSealingKeyHelp, {{"--master-key-file", nullptr, true}}},
      {"version", kVersionHelp, {}},
      {"vote",
       kVoteHelp,
       {{"--url", nullptr, true},
        {"--election", nullptr, true},
        {"--voter-id", nullptr, true},
        {"--credential", nullptr, true},
        {"--credential-file", nullptr, true},
        {"--select", nullptr, true},
        {"--max-delay", nullptr, true}}},
      {"verify",
       kVerifyHelp,
       {{"--url", nullptr, true},
        {"--election", nullptr, true},
        {"--receipt", nullptr, true},
        {"--voter-hash", nullptr, true},
        {"--state", nullptr, true},
        {"--log-key-id", nullptr, true},
        {"--save", nullptr, true},
        {"--offline", nullptr, true}}},
  };
  return all;
}

int usage_error(const std::string& message, const char* command) {
  std::fprintf(stderr, "observernet: %s (see 'observernet %s--help')\n", message.c_str(),
               command ? (std::string(command) + " ").c_str() : "");
  return kExitUsage;
}

// The flags as given, in order, with their values ("true" for a flag without one).
using GivenFlags = std::vector<std::pair<const Flag*, std::string>>;

// The first line of `path` ('-': stdin) without its line ending; nullopt if unreadable.
std::optional<std::string> read_first_line(const std::string& path) {
  std::string line;
  if (path == "-") {
    if (!std::getline(std::cin, line)) return std::nullopt;
  } else {
    std::ifstream in(path);
    if (!in || !std::getline(in, line)) return std::nullopt;
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.pop_back();
  }
  return line;
}

// The client for a --url flag, or nullopt once the usage error is printed.
std::optional<client::HttpClient> client_for(const std::string& url, const char* command) {
  try {
    return client::HttpClient(url);
  } catch (const std::invalid_argument& e) {
    usage_error(std::string("--url: ") + e.what(), command);
    return std::nullopt;
  }
}

// Nothing here logs: the credential and the choices of a voter go to the server only.
int vote(const GivenFlags& given) {
  std::map<std::string, std::string> single;
  client::VoteRequest request;
  for (const auto& [flag, value] : given) {
    if (flag->name != std::string_view("--select")) {
      single[flag->name] = value;
      continue;
    }
    auto selection = client::parse_selection(value);
    if (!selection) {
      return usage_error("--select takes CONTEST=OPTION with ids of [a-z0-9-], got '" + value + "'",
                         "vote");
    }
    request.selections.push_back(std::move(*selection));
  }
  for (const char* required : {"--url", "--election", "--voter-id"}) {
    if (!single.contains(required)) {
      return usage_error(std::string(required) + " is required", "vote");
    }
  }
  if (single.contains("--credential") == single.contains("--credential-file")) {
    return usage_error("give one of --credential and --credential-file", "vote");
  }
  request.election_id = single["--election"];
  if (!domain::is_uuid(request.election_id)) {
    return usage_error("--election must be a UUID, got '" + request.election_id + "'", "vote");
  }
  request.voter_id = single["--voter-id"];
  if (single.contains("--credential")) {
    request.credential = single["--credential"];
  } else {
    auto credential = read_first_line(single["--credential-file"]);
    if (!credential) {
      return usage_error("cannot read --credential-file " + single["--credential-file"], "vote");
    }
    request.credential = std::move(*credential);
  }
  if (request.voter_id.empty() || request.credential.empty()) {
    return usage_error("the voter id and the credential must not be empty", "vote");
  }

  request.max_delay = std::chrono::seconds(30);
  if (single.contains("--max-delay")) {
    const std::string& text = single["--max-delay"];
    unsigned seconds = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size() || seconds > 3600) {
      return usage_error("--max-delay takes whole seconds from 0 to 3600, got '" + text + "'",
                         "vote");
    }
    request.max_delay = std::chrono::seconds(seconds);
  }
  request.on_delay = [](std::chrono::milliseconds delay) {
    std::fprintf(stderr, "observernet: token received; sending the ballot in %.1f s\n",
                 static_cast<double>(delay.count()) / 1000);
  };

  std::optional<client::HttpClient> http = client_for(single["--url"], "vote");
  if (!http) return kExitUsage;
  try {
    const client::VoteOutcome outcome = client::cast_vote(*http, request);
    std::printf("keyId %s\nreceipt %s\nacceptedAt %s\n", outcome.key_id.c_str(),
                outcome.receipt.c_str(), outcome.accepted_at.c_str());
    if (auto state = client::receipt_state(*http, outcome.receipt)) {
      std::printf("status %s\n", state->status.c_str());
      if (state->status == "pending")
        std::printf("dueBy %s\n", state->due_by.value_or("close").c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "observernet: vote failed: %s\n", e.what());
  }
  return kExitFailure;
}

bool is_sha256_hex(std::string_view text) {
  auto bytes = crypto::from_hex(text);
  return bytes && bytes->size() == 32;
}

// Observers' output is the check lines and the verdict, on stdout; nothing is logged.
int verify(const GivenFlags& given) {
  std::map<std::string, std::string> single;
  for (const auto& [flag, value] : given) single[flag->name] = value;
  if (single.contains("--url") == single.contains("--offline")) {
    return usage_error("give one of --url and --offline", "verify");
  }
  if (single.contains("--offline") && single.contains("--save")) {
    return usage_error("--save reads from a server: not with --offline", "verify");
  }
  if (!single.contains("--election")) return usage_error("--election is required", "verify");
  client::VerifyRequest request;
  request.election_id = single["--election"];
  if (!domain::is_uuid(request.election_id)) {
    return usage_error("--election must be a UUID, got '" + request.election_id + "'", "verify");
  }
  for (auto [name, target] :
       {std::pair{"--receipt", &request.receipt}, std::pair{"--log-key-id", &request.log_key_id},
        std::pair{"--voter-hash", &request.voter_hash}}) {
    if (!single.contains(name)) continue;
    if (!is_sha256_hex(single[name])) {
      return usage_error(std::string(name) + " must be 64 hex digits", "verify");
    }
    *target = single[name];
  }
  if (single.contains("--state")) {
    request.state_file = single["--state"];
  } else if (auto path = client::default_state_file(request.election_id)) {
    request.state_file = *path;
  } else {
    return usage_error("no state directory: set XDG_STATE_HOME or HOME, or give --state", "verify");
  }

  // Offline, nothing is sent anywhere: the archive answers.
  const bool offline = single.contains("--offline");
  std::optional<client::HttpClient> http =
      client_for(offline ? "http://offline.invalid" : single["--url"], "verify");
  if (!http) return kExitUsage;
  try {
    if (offline) {
      if (!std::filesystem::is_directory(single["--offline"])) {
        return usage_error("--offline " + single["--offline"] + " is not a directory", "verify");
      }
      http->set_archive({client::Archive::Mode::replay, single["--offline"]});
    } else if (single.contains("--save")) {
      http->set_archive({client::Archive::Mode::record, single["--save"]});
    }
    const auto results = client::verify_election(*http, request);
    for (const auto& result : results) std::printf("%s\n", client::format_check(result).c_str());
    std::printf("%s\n", client::format_verdict(results).c_str());
    return client::all_passed(results) ? 0 : kExitFailure;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "observernet: verify failed: %s\n", e.what());
  }
  return kExitFailure;
}

// Prints nothing but the public key: the master key is read, used and wiped.
int sealing_key(const GivenFlags& given) {
  if (given.empty()) return usage_error("--master-key-file is required", "sealing-key");
  const std::string& path = given.back().second;
  std::optional<std::string> text = read_first_line(path);
  if (!text) return usage_error("cannot read --master-key-file " + path, "sealing-key");
  std::optional<crypto::Bytes> master_key = crypto::from_hex(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!master_key || master_key->size() != 32) {
    if (master_key) OPENSSL_cleanse(master_key->data(), master_key->size());
    return usage_error("--master-key-file must hold 64 hex digits (auth.master_key)",
                       "sealing-key");
  }
  const crypto::X25519Key public_key = service::sealing_public_key(*master_key);
  OPENSSL_cleanse(master_key->data(), master_key->size());
  std::printf("%s\n", crypto::to_hex(public_key).c_str());
  return 0;
}

int serve(Config config) {
  App app(std::move(config));
  app.start();
  return app.run();
}

// The migration Job's command: unlike `serve --migrate`, which runs as the runtime role,
// it is meant to run as the owner, so a missing runtime role is worth a warning.
int migrate(const Config& config) {
  apply_migrations(config);
  if (config.database.runtime_role.empty()) {
    log::warn("history_not_append_only",
              {{"why",
                "database.runtime_role is not set: the role that owns the schema runs "
                "the server (docs/security.md, Append-only history)"}});
  }
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

  GivenFlags given;
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
    given.emplace_back(flag, std::move(value));
  }

  const std::string name = command->name;
  if (name == "version") {
    std::printf("observernet %s (commit %s, schema %d)\n", kVersion, kGitCommit,
                store::latest_migration_version());
    return 0;
  }
  if (name == "vote") return vote(given);
  if (name == "verify") return verify(given);
  if (name == "sealing-key") return sealing_key(given);

  RawConfig overrides;
  std::string config_file;
  if (const char* env = std::getenv("OBSERVERNET_CONFIG")) config_file = env;
  for (const auto& [flag, value] : given) {
    if (flag->key) {
      overrides[flag->key] = value;
    } else {
      config_file = value;
    }
  }

  Config config;
  try {
    config = load_config(config_file, overrides, name == "serve" ? Use::serve : Use::migrate);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "observernet: invalid config: %s\n", e.what());
    return kExitUsage;
  }
  log::setup(config.log.format, config.log.level, config.log.buffer_bytes);
  try {
    return name == "serve" ? serve(std::move(config)) : migrate(config);
  } catch (const ConfigError& e) {  // what the configuration points at (web.root) is unusable
    std::fprintf(stderr, "observernet: invalid config: %s\n", e.what());
    return kExitUsage;
  } catch (const Error& e) {
    log::error("fatal", {{"error", e.log_detail().empty() ? e.detail() : e.log_detail()}});
  } catch (const std::exception& e) {
    log::error("fatal", {{"error", e.what()}});
  }
  return kExitFailure;
}

}  // namespace observernet::app
