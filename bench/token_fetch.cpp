// bench_tokens: mints real voting tokens, so that the ballot submission benchmark
// (bench/ballot_submit.sh) sends ballots the server must verify like any other.
//
//   bench_tokens --url URL --election ID --credentials FILE --threads T --out FILE
//   bench_tokens --direct COUNT --sealed-key FILE --election ID --threads T --out FILE
//                [--staged-ballots DEFINITION]
//
// The first form goes through the API (docs/formats.md, Tokens) as voters' clients do: each token
// costs the server one RSA blind signature and one commit, which is what the tokens/s figure
// measures.
// --credentials: the body the voter import answered (docs/api/README.md), kept as it is:
//   {"registered": n, "duplicates": m, "credentials": [{"voterId", "credential"}, ...]}.
// Any answer but 200 is counted by status and the voter skipped: the run goes on.
//
// The second is the benchmark's admin-only fast path: it needs what only an operator
// holds, the election's sealed private key (hex, as `encode(private_key_sealed, 'hex')`
// from election_keys) and the master key (OBSERVERNET_AUTH_MASTER_KEY). It signs COUNT
// random token messages with the election's key exactly as a finished blind signature
// is (RSASSA-PSS, SHA-384, salt 48; RFC 9474's Finalize yields the same signature), by
// EMSA-PSS encoding and the server's own blind_sign, and checks each with verify_pss.
// The tokens are as valid as minted ones; no voter and no token row is involved.
//
// --out: one token per line, "message signature", both base64url without padding; in
//   the order of the voters for the API, and voters whose token failed have no line.
//   Written as it goes, a block at a time: ten million tokens never sit in memory.
// --staged-ballots DEFINITION (with --direct; DEFINITION: the election's create body, as
//   JSON): each line is instead a ballot cast with that token, as the group commit stages
//   it: a row of `ballots_staged` in COPY's text format (election id, token message,
//   leaf, receipt), for bench/growth.sh to load straight into PostgreSQL. Its selections
//   are random (in each contest a random number of distinct options, from its minimum to
//   its maximum), checked, sorted and made into the leaf and receipt by the server's own
//   code (domain::parse_selections, domain::ballot_leaf, crypto::merkle_leaf_hash).
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <openssl/crypto.h>

#include "observernet/client/http_client.hpp"
#include "observernet/client/voter.hpp"
#include "observernet/crypto/aead.hpp"
#include "observernet/crypto/blind_rsa.hpp"
#include "observernet/crypto/hash.hpp"
#include "observernet/crypto/merkle.hpp"
#include "observernet/domain/ballot.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/service/token_keys.hpp"

namespace {

using namespace observernet;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kTokenMessageBytes = 32;  // the token nonce (docs/formats.md, Tokens)
constexpr auto kProgressEvery = std::chrono::seconds(10);
constexpr std::size_t kBlock = 1 << 16;  // lines made in memory before they are written
// An answer waits for an RSA signature and a commit behind every other voter's: far
// longer than an interactive client would wait under this load.
constexpr auto kRequestTimeout = std::chrono::seconds(60);

struct Options {
  std::string url;
  std::string election_id;
  std::string credentials_file;
  std::string out_file;
  unsigned threads = 8;
  std::size_t direct_count = 0;  // > 0: the fast path
  std::string sealed_key_file;
  std::string ballots_definition;  // with the fast path: staged ballots, not tokens
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
               " --out FILE\n"
               "       bench_tokens --direct COUNT --sealed-key FILE --election ID --threads T"
               " --out FILE\n"
               "                    [--staged-ballots DEFINITION]"
               "   (master key in OBSERVERNET_AUTH_MASTER_KEY)\n";
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
    } else if (flag == "--sealed-key") {
      o.sealed_key_file = value;
    } else if (flag == "--staged-ballots") {
      o.ballots_definition = value;
    } else if (flag == "--threads") {
      try {
        o.threads = static_cast<unsigned>(std::stoul(value));
      } catch (const std::exception&) {
        usage("--threads takes a number");
      }
      if (o.threads == 0 || o.threads > 4096) usage("--threads must be 1 to 4096");
    } else if (flag == "--direct") {
      try {
        o.direct_count = std::stoull(value);
      } catch (const std::exception&) {
        usage("--direct takes a number");
      }
      if (o.direct_count == 0) usage("--direct must be at least 1");
    } else {
      usage("unknown option " + std::string(flag));
    }
  }
  if (o.election_id.empty() || o.out_file.empty()) usage("--election and --out are required");
  if (o.direct_count > 0 ? o.sealed_key_file.empty()
                         : o.url.empty() || o.credentials_file.empty()) {
    usage(o.direct_count > 0 ? "--direct needs --sealed-key"
                             : "--url and --credentials are required");
  }
  if (!o.ballots_definition.empty() && o.direct_count == 0) {
    usage("--staged-ballots needs --direct");
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

// Unseals the election's private token key as the signers do (sealed to the sealing key
// derived from the master key, or AES-256-GCM under the master key for older elections;
// the election id as associated data: docs/formats.md, Sealed token keys).
crypto::RsaPrivateKey open_private_key(const Options& options) {
  std::ifstream in(options.sealed_key_file, std::ios::binary);
  std::string hex((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  const auto sealed = crypto::from_hex(hex);
  if (!sealed) throw std::runtime_error(options.sealed_key_file + " holds no hex sealed key");
  const char* master_hex = std::getenv("OBSERVERNET_AUTH_MASTER_KEY");
  const auto master = crypto::from_hex(master_hex != nullptr ? master_hex : "");
  if (!master || master->size() != crypto::kAes256GcmKeyLength) {
    throw std::runtime_error("OBSERVERNET_AUTH_MASTER_KEY must hold the server's 64 hex digits");
  }
  crypto::Bytes sealing_private = service::sealing_private_key(*master);
  auto der = service::unseal_token_key(*master, sealing_private, *sealed, options.election_id);
  OPENSSL_cleanse(sealing_private.data(), sealing_private.size());
  if (!der) throw std::runtime_error("the sealed key does not open with this master key");
  auto key = crypto::RsaPrivateKey::from_pkcs8_der(*der);
  OPENSSL_cleanse(der->data(), der->size());
  if (!key) throw std::runtime_error("the sealed key is not an RSA private key");
  return *key;
}

struct SignedToken {
  std::array<unsigned char, kTokenMessageBytes> message;
  crypto::Bytes signature;
};

// One token signed with the election's key: a random message and the signature RFC
// 9474's Finalize returns for it; nothing if it did not verify.
std::optional<SignedToken> sign_token(const crypto::RsaPrivateKey& key, Tally& tally) {
  std::array<unsigned char, kTokenMessageBytes> msg;
  crypto::random_bytes(msg);
  std::array<unsigned char, crypto::kSha384PssDeterministic.salt_length> salt;
  crypto::random_bytes(salt);
  // RFC 9474 §4.2: emBits = modBits - 1, and the encoded message as a modulus-long integer.
  crypto::Bytes em = crypto::emsa_pss_encode(msg, key.public_key().modulus_bits() - 1, salt);
  em.insert(em.begin(), key.modulus_bytes() - em.size(), 0);
  auto signed_msg = key.blind_sign(em);
  auto* sig = std::get_if<crypto::Bytes>(&signed_msg);
  if (sig == nullptr || !key.public_key().verify_pss(msg, *sig)) {
    ++tally.failures.not_finalized;
    return std::nullopt;
  }
  return SignedToken{msg, std::move(*sig)};
}

// A ballot cast with `token` for random selections, as a row of ballots_staged in COPY's
// text format: election id, token message, leaf, receipt (bytea as \\x hex).
std::string staged_ballot_row(const std::string& election_id,
                              const std::vector<domain::Contest>& contests,
                              const SignedToken& token, std::mt19937_64& random) {
  json picks = json::array();
  for (const auto& contest : contests) {
    std::vector<std::size_t> options(contest.options.size());
    for (std::size_t i = 0; i < options.size(); ++i) options[i] = i;
    std::shuffle(options.begin(), options.end(), random);
    const auto span = static_cast<std::uint64_t>(contest.max_selections - contest.min_selections);
    const auto n = static_cast<std::size_t>(contest.min_selections) +
                   static_cast<std::size_t>(random() % (span + 1));
    for (std::size_t i = 0; i < n; ++i) {
      picks.push_back({{"contestId", contest.id}, {"optionId", contest.options[options[i]].id}});
    }
  }
  const std::string leaf = domain::ballot_leaf(
      election_id, domain::parse_selections(picks, contests), crypto::to_base64url(token.message),
      crypto::to_base64url(token.signature));
  // COPY's text format escapes backslashes, tabs and newlines: a leaf (RFC 8785 JSON of
  // ids and base64url) holds none, and a row that would need them is refused.
  if (leaf.find_first_of("\\\t\n\r") != std::string::npos) {
    throw std::runtime_error("a leaf holds a character COPY would need escaped");
  }
  return election_id + "\t\\\\x" + crypto::to_hex(token.message) + '\t' + leaf + "\t\\\\x" +
         crypto::to_hex(crypto::merkle_leaf_hash(leaf));
}

// Runs mint(i, tally) for i in [0, count) on `threads` threads, showing progress, and
// writes the lines that are not empty to out_file in the order of i, kBlock at a time.
template <typename Mint>
int mint_all(const Options& options, std::size_t count, const Mint& mint) {
  std::ofstream out(options.out_file, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + options.out_file);
  std::atomic<std::size_t> finished{0};
  std::mutex tally_mutex;
  Tally total;
  std::size_t written = 0;

  const auto started = Clock::now();
  auto last_report = started;
  std::vector<std::string> lines;
  for (std::size_t first = 0; first < count; first += kBlock) {
    const std::size_t end = std::min(count, first + kBlock);
    // Each slot is written by the one thread that took its index: no lock needed.
    lines.assign(end - first, std::string());
    std::atomic<std::size_t> next{first};
    std::atomic<unsigned> running{options.threads};
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < options.threads; ++t) {
      workers.emplace_back([&] {
        Tally mine;
        try {
          auto mint_one = mint();
          for (;;) {
            const std::size_t i = next.fetch_add(1);
            if (i >= end) break;
            lines[i - first] = mint_one(i, mine);
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
    while (running.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (Clock::now() - last_report >= kProgressEvery) {
        last_report = Clock::now();
        const double s = std::chrono::duration<double>(last_report - started).count();
        std::fprintf(stderr, "bench_tokens: %zu of %zu after %.0f s (%.0f/s)\n", finished.load(),
                     count, s, static_cast<double>(finished.load()) / s);
      }
    }
    for (auto& w : workers) w.join();
    for (const auto& line : lines) {
      if (line.empty()) continue;
      out << line << '\n';
      ++written;
    }
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + options.out_file);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  std::printf("tokens: %zu of %zu in %.1f s: %.0f tokens/s (%u threads, %s)\n", written, count,
              seconds, static_cast<double>(written) / seconds, options.threads,
              options.direct_count > 0 ? "signed directly with the election's key"
                                       : "through POST /api/v1/voting/token");
  std::ostringstream statuses;
  for (auto [status, n] : total.statuses) statuses << ' ' << status << ": " << n << ',';
  std::string line = statuses.str();
  if (!line.empty()) {
    line.pop_back();
    std::printf("token statuses:%s\n", line.c_str());
  }
  std::printf("token errors: transport %llu, bad 200 body %llu, not finalized %llu\n",
              static_cast<unsigned long long>(total.failures.transport),
              static_cast<unsigned long long>(total.failures.bad_answer),
              static_cast<unsigned long long>(total.failures.not_finalized));
  return written > 0 ? 0 : 1;
}

int run(const Options& options) {
  if (options.direct_count > 0) {
    const crypto::RsaPrivateKey key = open_private_key(options);
    std::cerr << "bench_tokens: " << options.direct_count << " tokens signed directly, "
              << options.threads << " threads\n";
    if (options.ballots_definition.empty()) {
      return mint_all(options, options.direct_count, [&] {
        return [&](std::size_t, Tally& tally) {
          const auto token = sign_token(key, tally);
          return token ? crypto::to_base64url(token->message) + ' ' +
                             crypto::to_base64url(token->signature)
                       : std::string();
        };
      });
    }
    std::ifstream in(options.ballots_definition, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + options.ballots_definition);
    const auto contests = domain::parse_election_definition(json::parse(in)).contests;
    return mint_all(options, options.direct_count, [&] {
      // One generator per thread, seeded apart.
      return
          [&, random = std::mt19937_64(std::random_device{}())](std::size_t, Tally& tally) mutable {
            const auto token = sign_token(key, tally);
            return token ? staged_ballot_row(options.election_id, contests, *token, random)
                         : std::string();
          };
    });
  }
  const std::vector<Voter> voters = read_credentials(options.credentials_file);
  std::cerr << "bench_tokens: " << voters.size() << " voters, " << options.threads << " threads\n";
  const crypto::RsaPublicKey key = [&] {
    client::HttpClient http(options.url);
    return client::fetch_token_key(http, options.election_id);
  }();
  return mint_all(options, voters.size(), [&] {
    // One keep-alive connection per thread.
    return [&, http = std::make_shared<client::HttpClient>(options.url, kRequestTimeout)](
               std::size_t i, Tally& tally) {
      return mint_token(*http, key, options.election_id, voters[i], tally);
    };
  });
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
