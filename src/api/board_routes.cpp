#include "observernet/api/board_routes.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "observernet/api/support.hpp"
#include "observernet/error.hpp"
#include "observernet/service/board.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::int64_t kDefaultBallotsPerPage = 100;
constexpr std::int64_t kDefaultVotersPerPage = 1000;
constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();

json hex_list(const std::vector<crypto::Digest>& digests) {
  json list = json::array();
  for (const auto& d : digests) list.push_back(crypto::to_hex(d));
  return list;
}

crypto::Digest receipt_from(std::string_view text) {
  auto digest = crypto::digest_from_hex(text);
  if (!digest) {
    throw Error(ErrorCode::bad_request, "A receipt is 64 hex digits (a SHA-256 leaf hash).",
                {{"receipt", "must be 64 hex digits"}});
  }
  return *digest;
}

std::uint64_t required_size(const Request& request, std::string_view name) {
  auto value = int_query(request, name, 1, kMaxInt);
  if (!value) {
    throw Error(ErrorCode::bad_request, std::string(name) + " is required.",
                {{std::string(name), "is required"}});
  }
  return static_cast<std::uint64_t>(*value);
}

// A voter hash given as a cursor or as a query: 64 lowercase hex digits.
std::optional<crypto::Digest> voter_hash_query(const Request& request, std::string_view name) {
  auto text = request.query_param(name);
  if (!text) return std::nullopt;
  auto digest = crypto::digest_from_hex(*text);
  if (!digest || crypto::to_hex(*digest) != *text) {
    throw Error(ErrorCode::bad_request, std::string(name) + " is 64 lowercase hex digits.",
                {{std::string(name), "must be 64 lowercase hex digits"}});
  }
  return digest;
}

// The roll's cursor: "<commitment>.<voterHash>".
std::string roll_cursor(const store::RollEntry& entry) {
  return std::to_string(entry.commitment) + "." + crypto::to_hex(entry.voter_hash);
}

std::optional<store::RollEntry> roll_cursor_query(const Request& request) {
  auto text = request.query_param("after");
  if (!text) return std::nullopt;
  const auto dot = text->find('.');
  auto invalid = [] {
    return Error(ErrorCode::bad_request, "after is the next cursor of a roll page.",
                 {{"after", "must be <commitment>.<voterHash>, as a page's next gives it"}});
  };
  if (dot == std::string::npos || dot == 0 || dot > 9) throw invalid();
  const std::string digits = text->substr(0, dot);
  auto hash = crypto::digest_from_hex(text->substr(dot + 1));
  if (digits.find_first_not_of("0123456789") != std::string::npos || !hash ||
      crypto::to_hex(*hash) != text->substr(dot + 1)) {
    throw invalid();
  }
  return store::RollEntry{std::stoi(digits), *hash};
}

class BoardHandlers {
 public:
  explicit BoardHandlers(BoardRoutesDependencies deps)
      : board_(deps.board),
        cache_control_(public_cache_control(deps.public_max_age)),
        log_key_({{"algorithm", "Ed25519"},
                  {"keyId", board_.log_key().key_id()},
                  {"publicKey", crypto::to_base64url(board_.log_key().raw())}}) {}

  // GET /api/v1/public/log-key
  awaitable<Response> log_key(Request& request) { co_return respond(request, log_key_); }

  // GET /api/v1/public/elections/{id}/tree-head
  awaitable<Response> tree_head(Request& request) {
    auto head = co_await board_.tree_head(uuid_param(request, "id"));
    co_return respond(request, to_json(head));
  }

  // GET /api/v1/public/elections/{id}/proofs/inclusion?receipt=&treeSize=
  awaitable<Response> inclusion(Request& request) {
    std::string id = uuid_param(request, "id");
    auto text = request.query_param("receipt");
    if (!text) {
      throw Error(ErrorCode::bad_request, "receipt is required.", {{"receipt", "is required"}});
    }
    const crypto::Digest receipt = receipt_from(*text);
    std::optional<std::uint64_t> size;
    if (auto value = int_query(request, "treeSize", 1, kMaxInt)) {
      size = static_cast<std::uint64_t>(*value);
    }
    auto proof = co_await board_.inclusion(id, receipt, size);
    co_return respond(request, {{"leafIndex", proof.leaf_index},
                                {"treeSize", proof.tree_size},
                                {"auditPath", hex_list(proof.audit_path)}});
  }

  // GET /api/v1/public/elections/{id}/proofs/consistency?first=&second=
  awaitable<Response> consistency(Request& request) {
    std::string id = uuid_param(request, "id");
    const std::uint64_t first = required_size(request, "first");
    const std::uint64_t second = required_size(request, "second");
    auto proof = co_await board_.consistency(id, first, second);
    co_return respond(
        request,
        {{"first", proof.first}, {"second", proof.second}, {"proof", hex_list(proof.proof)}});
  }

  // GET /api/v1/public/elections/{id}/ballots?from=&limit=
  awaitable<Response> ballots(Request& request) {
    std::string id = uuid_param(request, "id");
    const auto from =
        static_cast<std::uint64_t>(int_query(request, "from", 0, kMaxInt).value_or(0));
    const auto limit = static_cast<std::uint64_t>(
        int_query(request, "limit", 1, service::Board::kMaxBallotsPerPage)
            .value_or(kDefaultBallotsPerPage));
    auto page = co_await board_.ballots(id, from, limit);
    json ballots = json::array();
    for (auto& b : page.ballots) {
      json leaf = json::parse(b.leaf);
      ballots.push_back({{"leafIndex", b.leaf_index},
                         {"receipt", crypto::to_hex(b.receipt)},
                         {"token", std::move(leaf["token"])},
                         {"selections", std::move(leaf["selections"])}});
    }
    co_return respond(request, {{"ballots", std::move(ballots)},
                                {"treeSize", page.tree_size},
                                {"next", page.next ? json(*page.next) : json(nullptr)}});
  }

  // GET /api/v1/public/elections/{id}/roll?after=&limit=
  awaitable<Response> roll(Request& request) {
    std::string id = uuid_param(request, "id");
    auto after = roll_cursor_query(request);
    const auto limit =
        static_cast<std::uint64_t>(int_query(request, "limit", 1, service::Board::kMaxVotersPerPage)
                                       .value_or(kDefaultVotersPerPage));
    auto page = co_await board_.roll(id, after, limit);
    json voters = json::array();
    for (const auto& v : page.voters) {
      voters.push_back({{"voterHash", crypto::to_hex(v.voter_hash)}, {"commitment", v.commitment}});
    }
    co_return respond(request, {{"voters", std::move(voters)},
                                {"next", page.next ? json(roll_cursor(*page.next)) : json()}});
  }

  // GET /api/v1/public/elections/{id}/issued?after=&limit=
  awaitable<Response> issued(Request& request) {
    std::string id = uuid_param(request, "id");
    auto after = voter_hash_query(request, "after");
    const auto limit =
        static_cast<std::uint64_t>(int_query(request, "limit", 1, service::Board::kMaxVotersPerPage)
                                       .value_or(kDefaultVotersPerPage));
    auto page = co_await board_.issued(id, after, limit);
    co_return respond(request, {{"voterHashes", hex_list(page.voter_hashes)},
                                {"next", page.next ? json(crypto::to_hex(*page.next)) : json()}});
  }

  // GET /api/v1/voting/receipts/{receipt}
  awaitable<Response> receipt(Request& request) {
    const crypto::Digest receipt = receipt_from(request.param("receipt"));
    auto state = co_await board_.receipt(receipt);
    json body = {{"status", "pending"},
                 {"electionId", state.election_id},
                 {"dueBy", state.due_by ? json(domain::format_timestamp(*state.due_by)) : json()}};
    if (state.proof) {
      body = {{"status", "sequenced"},
              {"electionId", state.election_id},
              {"leafIndex", state.proof->leaf_index},
              {"treeSize", state.proof->tree_size},
              {"inclusionProof", hex_list(state.proof->audit_path)}};
    }
    Response r = json_response(200, body);
    r.set("Cache-Control", "no-cache");
    co_return r;
  }

 private:
  // Public and immutable for a given URL until the log grows: an ETag of the body.
  Response respond(const Request& request, const json& body) const {
    auto text = std::make_shared<const std::string>(body.dump());
    return conditional_response(request, text,
                                "\"" + crypto::to_hex(crypto::sha256(*text)).substr(0, 32) + "\"",
                                cache_control_);
  }

  service::Board& board_;
  const std::string cache_control_;
  const json log_key_;
};

}  // namespace

void add_board_routes(http::Router& router, BoardRoutesDependencies deps) {
  auto h = std::make_shared<BoardHandlers>(deps);
  const std::string election = "/api/v1/public/elections/{id}";
  router.add(Method::get, "/api/v1/public/log-key", [h](Request& r) { return h->log_key(r); });
  router.add(Method::get, election + "/tree-head", [h](Request& r) { return h->tree_head(r); });
  router.add(Method::get, election + "/proofs/inclusion",
             [h](Request& r) { return h->inclusion(r); });
  router.add(Method::get, election + "/proofs/consistency",
             [h](Request& r) { return h->consistency(r); });
  router.add(Method::get, election + "/ballots", [h](Request& r) { return h->ballots(r); });
  router.add(Method::get, election + "/roll", [h](Request& r) { return h->roll(r); });
  router.add(Method::get, election + "/issued", [h](Request& r) { return h->issued(r); });
  router.add(Method::get, "/api/v1/voting/receipts/{receipt}",
             [h](Request& r) { return h->receipt(r); });
}

}  // namespace observernet::api
