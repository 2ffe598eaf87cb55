// bench_tokens: mints real voting tokens through the API (SPEC §5), so that the ballot
// submission benchmark (bench/ballot_submit.sh) sends ballots the server must verify
// like any other. Each token costs the server one RSA blind signature and one commit,
// which is what the tokens/s figure measures.
//
//   bench_tokens --url URL --election ID --credentials FILE --threads T --out FILE
//
// --credentials: the body the voter import answered (SPEC §4), kept as it is:
//   {"registered": n, "duplicates": m, "credentials": [{"voterId", "credential"}, ...]}.
// --out: one token per line, "message signature", both base64url without padding, in
//   the order of the voters; voters whose token failed have no line.
//
// Any answer but 200 is counted by status and the voter skipped: the run goes on.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "observernet/client/http_client.hpp"
#include "observernet/client/voter.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"

namespace {

using namespace observernet;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTokenMessageBytes = 32;  // SPEC §5: the token nonce
constexpr auto kProgressEvery = std::chrono::seconds(10);
// An answer waits for an RSA signature and a commit behind every other voter's: far
// longer than an interactive client would wait under this load.
constexpr auto kRequestTimeout = std::chrono::seconds(60);

struct Options {
  std::string url;
  std::string election_id;
  std::string credentials_file;
  std::string out_file;
  unsigned threads = 8;
};

struct Voter {
  std::string voter_id;
  std::string credential;
};

// What went wrong on our side of a request, apart from the server's status codes.
struct Failures {
  std::uint64_t transport = 0;      // no complete answer (TransportError)
  std::uint64_t bad_answer = 0;     // a 200 without a base64url blindSignature
  std::uint64_t not_finalized = 0;  // the blind signature does not unblind to a valid one
};

struct Tally {
  std::map<unsigned, std::uint64_t> statuses;
  Failures failures;
};

[[noreturn]] void usage(std::string_view why) {
  std::cerr << "bench_tokens: " << why << "\n"
            << "usage: bench_tokens --url URL --election ID --credentials FILE --threads T"
               " --out FILE\n";
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value for " + std::string(flag));
    const std::string value = argv[++i];
    if (flag == "--url") {
      o.url = value;
    } else if (flag == "--election") {
      o.election_id = value;
    } else if (flag == "--credentials") {
      o.credentials_file = value;
    } else if (flag == "--out") {
      o.out_file = value;
    } else if (flag == "--threads") {
      try {
        o.threads = static_cast<unsigned>(std::stoul(value));
      } catch (const std::exception&) {
        usage("--threads takes a number");
      }
      if (o.threads == 0 || o.threads > 4096) usage("--threads must be 1 to 4096");
    } else {
      usage("unknown option " + std::string(flag));
    }
  }
  if (o.url.empty() || o.election_id.empty() || o.credentials_file.empty() || o.out_file.empty()) {
    usage("--url, --election, --credentials and --out are required");
  }
  return o;
}

std::vector<Voter> read_credentials(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  const json body = json::parse(in);
  std::vector<Voter> voters;
  voters.reserve(body.at("credentials").size());
  for (const auto& c : body.at("credentials")) {
    voters.push_back({c.at("voterId").get<std::string>(), c.at("credential").get<std::string>()});
  }
  return voters;
}

// One voter's token, or an empty string; every outcome lands in `tally`.
std::string mint_token(client::HttpClient& http, const crypto::RsaPublicKey& key,
                       const std::string& election_id, const Voter& voter, Tally& tally) {
  std::array<unsigned char, kTokenMessageBytes> msg;
  crypto::random_bytes(msg);
  // The deterministic variant's Prepare is the identity (RFC 9474 §4.1).
  const crypto::Bytes prepared = crypto::prepare(crypto::kSha384PssDeterministic, msg);
  const crypto::BlindResult blinded = crypto::blind(key, prepared, crypto::kSha384PssDeterministic);
  client::Reply reply;
  try {
    reply = http.request("POST", "/api/v1/voting/token",
                         json{{"electionId", election_id},
                              {"voterId", voter.voter_id},
                              {"credential", voter.credential},
                              {"blindedMessage", crypto::to_base64url(blinded.blinded_msg)}});
  } catch (const client::TransportError&) {
    ++tally.failures.transport;
    return {};
  }
  ++tally.statuses[reply.status];
  if (reply.status != 200) return {};
  const json body = json::parse(reply.body, nullptr, false);
  std::optional<crypto::Bytes> blind_sig;
  if (body.is_object() && body.contains("blindSignature") && body["blindSignature"].is_string()) {
    blind_sig = crypto::from_base64url(body["blindSignature"].get<std::string>());
  }
  if (!blind_sig) {
    ++tally.failures.bad_answer;
    return {};
  }
  auto sig =
      crypto::finalize(key, prepared, *blind_sig, blinded.inv, crypto::kSha384PssDeterministic);
  if (!sig) {
    ++tally.failures.not_finalized;
    return {};
  }
  return crypto::to_base64url(msg) + ' ' + crypto::to_base64url(*sig);
}

int run(const Options& options) {
  const std::vector<Voter> voters = read_credentials(options.credentials_file);
  std::cerr << "bench_tokens: " << voters.size() << " voters, " << options.threads << " threads\n";
  crypto::RsaPublicKey key = [&] {
    client::HttpClient http(options.url);
    return client::fetch_token_key(http, options.election_id);
  }();

  // Each slot is written by the one thread that took its index: no lock needed.
  std::vector<std::string> tokens(voters.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> finished{0};
  std::atomic<unsigned> running{options.threads};
  std::mutex tally_mutex;
  Tally total;

  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < options.threads; ++t) {
    workers.emplace_back([&] {
      Tally mine;
      try {
        client::HttpClient http(options.url, kRequestTimeout);
        for (;;) {
          const std::size_t i = next.fetch_add(1);
          if (i >= voters.size()) break;
          tokens[i] = mint_token(http, key, options.election_id, voters[i], mine);
          finished.fetch_add(1, std::memory_order_relaxed);
        }
      } catch (const std::exception& e) {
        // Not an answer the server gave (blinding or the client itself failed): this
        // thread stops, the others go on.
        std::cerr << "bench_tokens: a worker stopped: " << e.what() << "\n";
      }
      std::lock_guard lock(tally_mutex);
      for (auto [status, n] : mine.statuses) total.statuses[status] += n;
      total.failures.transport += mine.failures.transport;
      total.failures.bad_answer += mine.failures.bad_answer;
      total.failures.not_finalized += mine.failures.not_finalized;
      running.fetch_sub(1);
    });
  }

  // Minting hundreds of thousands of tokens takes minutes: show that it moves.
  auto last_report = started;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (Clock::now() - last_report >= kProgressEvery) {
      last_report = Clock::now();
      const double s = std::chrono::duration<double>(last_report - started).count();
      std::fprintf(stderr, "bench_tokens: %zu of %zu after %.0f s (%.0f/s)\n", finished.load(),
                   voters.size(), s, static_cast<double>(finished.load()) / s);
    }
  }
  for (auto& w : workers) w.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  std::ofstream out(options.out_file, std::ios::binary | std::ios::trunc);
  std::size_t written = 0;
  for (const auto& token : tokens) {
    if (token.empty()) continue;
    out << token << '\n';
    ++written;
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + options.out_file);

  std::printf("tokens: %zu of %zu voters in %.1f s: %.0f tokens/s (%u threads)\n", written,
              voters.size(), seconds, static_cast<double>(written) / seconds, options.threads);
  std::ostringstream statuses;
  for (auto [status, n] : total.statuses) statuses << ' ' << status << ": " << n << ',';
  std::string line = statuses.str();
  if (!line.empty()) line.pop_back();
  std::printf("token statuses:%s\n", line.c_str());
  std::printf("token errors: transport %llu, bad 200 body %llu, not finalized %llu\n",
              static_cast<unsigned long long>(total.failures.transport),
              static_cast<unsigned long long>(total.failures.bad_answer),
              static_cast<unsigned long long>(total.failures.not_finalized));
  return written > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "bench_tokens: " << e.what() << "\n";
    return 1;
  }
}
