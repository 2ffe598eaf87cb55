#include <nlohmann/json.hpp>

#include "observernet/api/election_routes.hpp"
#include "observernet/api/support.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/error.hpp"
#include "observernet/http/problem.hpp"
#include "observernet/service/election_admin.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::Method;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::string_view kBase = "/api/v1/elections";

std::string admin_etag(const domain::Election& e) {
  return "\"v" + std::to_string(e.version) + "\"";
}

Response election_response(unsigned status, const domain::Election& e) {
  Response r = json_response(status, domain::to_admin_json(e));
  r.set("ETag", admin_etag(e));
  r.set("Cache-Control", "no-store");
  return r;
}

// If-Match: "*" or the ETag of the version the client edited.
std::optional<std::int64_t> expected_version(const Request& request) {
  std::string_view header = request.header("If-Match");
  if (header.empty() || header == "*") return std::nullopt;
  if (header.size() >= 4 && header.starts_with("\"v") && header.ends_with("\"")) {
    std::string digits(header.substr(2, header.size() - 3));
    if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos &&
        digits.size() < 19) {
      return std::stoll(digits);
    }
  }
  // An ETag this server never handed out cannot match the current one.
  return -1;
}

// The booth's link for one voter (web/README.md). The fragment never reaches a server,
// so no access log can hold the credential. The voter hash lets the booth show the voter
// how the public roll and issued list name them (docs/security.md, Issuance transparency).
std::string voter_link(std::string_view public_url, std::string_view election_id,
                       const store::NewVoter& voter) {
  std::string link(public_url);
  link.append("/vote/").append(election_id).append("#voter=");
  link.append(http::percent_encode(voter.voter_id)).append("&credential=").append(voter.credential);
  link.append("&voterHash=").append(voter.voter_hash);
  return link;
}

std::string voter_import_json(const store::VoterImport& result, std::string_view public_url,
                              std::string_view election_id) {
  // Up to a million entries: written directly rather than through a json tree.
  std::string out;
  out.reserve(64 + result.credentials.size() * (public_url.empty() ? 160 : 350));
  out += R"({"registered":)" + std::to_string(result.registered) + R"(,"duplicates":)" +
         std::to_string(result.duplicates) + R"(,"credentials":[)";
  bool first = true;
  for (const auto& voter : result.credentials) {
    if (!first) out += ',';
    first = false;
    out += R"({"voterId":)";
    out += json(voter.voter_id).dump();
    out += R"(,"credential":")";
    out += voter.credential;  // Crockford base32 and hex: nothing to escape
    out += R"(","voterHash":")";
    out += voter.voter_hash;
    if (!public_url.empty()) {
      out += R"(","link":)";
      out += json(voter_link(public_url, election_id, voter)).dump();
      out += '}';
    } else {
      out += R"("})";
    }
  }
  out += "]}";
  return out;
}

class AdminHandlers {
 public:
  explicit AdminHandlers(AdminRoutesDependencies deps) : deps_(std::move(deps)) {}

  // POST /api/v1/elections
  awaitable<Response> create(Request& request) {
    auto definition = domain::parse_election_definition(parse_json_body(request));
    auto election = co_await deps_.admin.create(std::move(definition));
    Response r = election_response(201, election);
    r.set("Location", std::string(kBase) + "/" + election.id);
    co_return r;
  }

  // GET /api/v1/elections?status=&limit=&cursor=
  awaitable<Response> list(Request& request) {
    std::optional<domain::ElectionStatus> status;
    if (auto raw = request.query_param("status")) {
      status = domain::parse_election_status(*raw);
      if (!status) {
        throw Error(ErrorCode::bad_request, "Unknown status filter.",
                    {{"status", "must be draft, open or closed"}});
      }
    }
    int limit = static_cast<int>(int_query(request, "limit", 1, 100).value_or(20));
    auto page = co_await deps_.admin.list(status, limit, request.query_param("cursor"));
    json items = json::array();
    for (const auto& e : page.elections) items.push_back(domain::to_admin_json(e));
    co_return json_response(
        200, {{"elections", std::move(items)},
              {"nextCursor", page.next_cursor ? json(*page.next_cursor) : json(nullptr)}});
  }

  // GET /api/v1/elections/{id}
  awaitable<Response> find(Request& request) {
    auto election = co_await deps_.admin.find(uuid_param(request, "id"));
    co_return conditional_response(
        request, std::make_shared<const std::string>(domain::to_admin_json(election).dump()),
        admin_etag(election), "no-store");
  }

  // PATCH /api/v1/elections/{id} (RFC 7396 merge patch, If-Match)
  awaitable<Response> patch(Request& request) {
    std::string id = uuid_param(request, "id");
    json patch = parse_json_body(request, {"application/merge-patch+json", "application/json"});
    auto election = co_await deps_.admin.patch(id, std::move(patch), expected_version(request));
    co_return election_response(200, election);
  }

  // DELETE /api/v1/elections/{id}
  awaitable<Response> remove(Request& request) {
    co_await deps_.admin.remove(uuid_param(request, "id"));
    Response no_content;
    no_content.status = 204;
    co_return no_content;
  }

  // POST /api/v1/elections/{id}/open
  awaitable<Response> open(Request& request) {
    co_return election_response(200, co_await deps_.admin.open(uuid_param(request, "id")));
  }

  // POST /api/v1/elections/{id}/close
  awaitable<Response> close(Request& request) {
    co_return election_response(200, co_await deps_.admin.close(uuid_param(request, "id")));
  }

  // POST /api/v1/elections/{id}/voters (JSON or CSV)
  awaitable<Response> import_voters(Request& request) {
    std::string id = uuid_param(request, "id");
    std::vector<std::string> voter_ids;
    std::string type = media_type(request);
    if (type == "text/csv") {
      voter_ids = domain::parse_voters_csv(request.body, deps_.import_limits);
    } else if (type == "application/json") {
      voter_ids = domain::parse_voters_json(request.body, deps_.import_limits);
    } else {
      throw http::TransportError(http::TransportCode::unsupported_media_type,
                                 "The voter roll must be application/json or text/csv.");
    }
    request.body = {};  // up to 32 MiB: not kept while the import runs
    auto result = co_await deps_.admin.import_voters(id, std::move(voter_ids));
    Response r = Response::json(201, voter_import_json(result, deps_.public_url, id));
    r.set("Cache-Control", "no-store");  // credentials, shown once
    co_return r;
  }

  // GET /api/v1/elections/{id}/stats
  awaitable<Response> stats(Request& request) {
    auto stats = co_await deps_.admin.stats(uuid_param(request, "id"));
    co_return json_response(200, {{"votersRegistered", stats.voters_registered},
                                  {"tokensIssued", stats.tokens_issued},
                                  {"ballotsCast", stats.ballots_cast},
                                  {"ballotsSequenced", stats.ballots_sequenced}});
  }

 private:
  AdminRoutesDependencies deps_;
};

}  // namespace

void add_admin_election_routes(http::Router& router, AdminRoutesDependencies deps) {
  const std::size_t import_limit = deps.import_body_limit;
  // Every route here needs the admin key, checked on the header (http::RouteOptions).
  http::RouteOptions admin;
  admin.guard = [&auth = deps.auth](const Request& r) { auth.check(r); };
  auto h = std::make_shared<AdminHandlers>(std::move(deps));
  using Handle = awaitable<Response> (AdminHandlers::*)(Request&);
  auto add = [&router, &h](Method method, std::string path, Handle handle,
                           const http::RouteOptions& options) {
    router.add(
        method, std::move(path), [h, handle](Request& r) { return (*h.*handle)(r); }, options);
  };
  http::RouteOptions import_options = admin;
  import_options.body_limit = import_limit;
  const std::string base(kBase), one = base + "/{id}";
  add(Method::post, base, &AdminHandlers::create, admin);
  add(Method::get, base, &AdminHandlers::list, admin);
  add(Method::get, one, &AdminHandlers::find, admin);
  add(Method::patch, one, &AdminHandlers::patch, admin);
  add(Method::del, one, &AdminHandlers::remove, admin);
  add(Method::post, one + "/open", &AdminHandlers::open, admin);
  add(Method::post, one + "/close", &AdminHandlers::close, admin);
  add(Method::post, one + "/voters", &AdminHandlers::import_voters, import_options);
  add(Method::get, one + "/stats", &AdminHandlers::stats, admin);
}

}  // namespace observernet::api
