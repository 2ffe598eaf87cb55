#include "observernet/api/board_routes.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "observernet/api/election_logs.hpp"
#include "observernet/api/support.hpp"
#include "observernet/api/voting_elections.hpp"
#include "observernet/error.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/voting.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::int64_t kMaxBallotsPerPage = 1000;
constexpr std::int64_t kDefaultBallotsPerPage = 100;

json hex_list(const std::vector<crypto::Digest>& digests) {
  json list = json::array();
  for (const auto& d : digests) list.push_back(crypto::to_hex(d));
  return list;
}

crypto::Digest receipt_from(std::string_view text, const std::string& field) {
  auto digest = crypto::digest_from_hex(text);
  if (!digest) {
    throw Error(ErrorCode::bad_request, "A receipt is 64 hex digits (a SHA-256 leaf hash).",
                {{field, "must be 64 hex digits"}});
  }
  return *digest;
}

// A size query parameter of a proof, within the newest tree head.
std::optional<std::uint64_t> size_query(const Request& request, std::string_view name,
                                        std::uint64_t tree_size) {
  auto value = int_query(request, name, 1, std::numeric_limits<std::int64_t>::max());
  if (value && static_cast<std::uint64_t>(*value) > tree_size) {
    throw Error(ErrorCode::bad_request,
                std::string(name) + " is beyond the log's newest tree head.",
                {{std::string(name),
                  "must be at most " + std::to_string(tree_size) + ", the newest tree size"}});
  }
  if (!value) return std::nullopt;
  return static_cast<std::uint64_t>(*value);
}

Error missing(std::string_view name) {
  return Error(ErrorCode::bad_request, std::string(name) + " is required.",
               {{std::string(name), "is required"}});
}

}  // namespace

void add_board_routes(http::Router& router, BoardRoutesDependencies deps) {
  const std::string cache_control =
      "public, max-age=" + std::to_string(deps.public_max_age.count());

  // The election's log as this process knows it; 404 for drafts and unknown elections.
  auto view_of = [deps](const std::string& id) -> awaitable<ElectionLogs::View> {
    auto entry = co_await deps.elections.find(id);
    if (!entry || entry->election.status == domain::ElectionStatus::draft) {
      throw Error(ErrorCode::not_found, "No election with this id.");
    }
    auto view = co_await deps.logs.current(id);
    if (!view) throw Error(ErrorCode::not_found, "The election's log has no tree head yet.");
    co_return std::move(*view);
  };
  auto respond = [cache_control](const Request& request, const json& body) {
    auto text = std::make_shared<const std::string>(body.dump());
    return conditional_response(request, text,
                                "\"" + crypto::to_hex(crypto::sha256(*text)).substr(0, 32) + "\"",
                                cache_control);
  };

  const json log_key = {{"algorithm", "Ed25519"},
                        {"keyId", deps.board.log_key().key_id()},
                        {"publicKey", crypto::to_base64url(deps.board.log_key().raw())}};
  router.add(Method::get, "/api/v1/public/log-key",
             [log_key, respond](Request& request) -> awaitable<Response> {
               co_return respond(request, log_key);
             });

  router.add(Method::get, "/api/v1/public/elections/{id}/tree-head",
             [view_of, respond](Request& request) -> awaitable<Response> {
               std::string id = uuid_param(request, "id");
               auto view = co_await view_of(id);
               co_return respond(request, to_json(view.head));
             });

  router.add(
      Method::get, "/api/v1/public/elections/{id}/proofs/inclusion",
      [view_of, respond](Request& request) -> awaitable<Response> {
        std::string id = uuid_param(request, "id");
        auto text = request.query_param("receipt");
        if (!text) throw missing("receipt");
        const crypto::Digest receipt = receipt_from(*text, "receipt");
        auto view = co_await view_of(id);
        const std::uint64_t size =
            size_query(request, "treeSize", view.head.tree_size).value_or(view.head.tree_size);
        auto index = view.log->find(receipt, size);
        if (!index) {
          throw Error(ErrorCode::not_found, "No ballot with this receipt among the first " +
                                                std::to_string(size) + " leaves of the log.");
        }
        co_return respond(
            request, {{"leafIndex", *index},
                      {"treeSize", size},
                      {"auditPath", hex_list(view.log->tree().inclusion_proof(*index, size))}});
      });

  router.add(Method::get, "/api/v1/public/elections/{id}/proofs/consistency",
             [view_of, respond](Request& request) -> awaitable<Response> {
               std::string id = uuid_param(request, "id");
               auto view = co_await view_of(id);
               auto first = size_query(request, "first", view.head.tree_size);
               auto second = size_query(request, "second", view.head.tree_size);
               if (!first) throw missing("first");
               if (!second) throw missing("second");
               if (*first > *second) {
                 throw Error(ErrorCode::bad_request, "first must not be larger than second.",
                             {{"first", "must be at most second"}});
               }
               co_return respond(
                   request,
                   {{"first", *first},
                    {"second", *second},
                    {"proof", hex_list(view.log->tree().consistency_proof(*first, *second))}});
             });

  router.add(
      Method::get, "/api/v1/public/elections/{id}/ballots",
      [view_of, respond, deps](Request& request) -> awaitable<Response> {
        std::string id = uuid_param(request, "id");
        auto view = co_await view_of(id);
        const std::uint64_t size = view.head.tree_size;
        const auto from = static_cast<std::uint64_t>(
            int_query(request, "from", 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
        const auto limit = static_cast<std::uint64_t>(
            int_query(request, "limit", 1, kMaxBallotsPerPage).value_or(kDefaultBallotsPerPage));
        if (from > size) {
          throw Error(ErrorCode::bad_request, "from is beyond the log's newest tree head.",
                      {{"from", "must be at most " + std::to_string(size)}});
        }
        const std::uint64_t end = std::min(size, from + limit);
        std::vector<crypto::Digest> receipts;
        for (std::uint64_t i = from; i < end; ++i) {
          receipts.push_back(view.log->tree().subtree_hash(i, i + 1));
        }
        std::vector<std::string> leaves = co_await deps.board.leaves(receipts);
        json ballots = json::array();
        for (std::size_t i = 0; i < leaves.size(); ++i) {
          json leaf = json::parse(leaves[i]);
          ballots.push_back({{"leafIndex", from + i},
                             {"receipt", crypto::to_hex(receipts[i])},
                             {"token", std::move(leaf["token"])},
                             {"selections", std::move(leaf["selections"])}});
        }
        json body = {{"ballots", std::move(ballots)}, {"treeSize", size}, {"next", nullptr}};
        if (end < size) body["next"] = end;
        co_return respond(request, body);
      });

  router.add(Method::get, "/api/v1/voting/receipts/{receipt}",
             [deps](Request& request) -> awaitable<Response> {
               const crypto::Digest receipt = receipt_from(request.param("receipt"), "receipt");
               auto status = co_await deps.voting.find_receipt(receipt);
               if (!status) throw Error(ErrorCode::not_found, "No ballot has this receipt.");
               json body = {{"status", "pending"}, {"electionId", status->election_id}};
               if (auto view = co_await deps.logs.current(status->election_id)) {
                 if (auto index = view->log->find(receipt, view->head.tree_size)) {
                   body = {{"status", "sequenced"},
                           {"electionId", status->election_id},
                           {"leafIndex", *index},
                           {"treeSize", view->head.tree_size},
                           {"inclusionProof", hex_list(view->log->tree().inclusion_proof(
                                                  *index, view->head.tree_size))}};
                 }
               }
               Response r = json_response(200, body);
               r.set("Cache-Control", "no-cache");
               co_return r;
             });
}

}  // namespace observernet::api
