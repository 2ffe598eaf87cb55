// The booth and the portal (web/README.md): every answer is prepared at start, from
// memory; a request only picks the representation its Accept-Encoding asks for.
#include "observernet/api/web_routes.hpp"

#include <array>
#include <map>
#include <nlohmann/json.hpp>

#include "observernet/api/support.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/http/content_coding.hpp"
#include "observernet/http/cors.hpp"
#include "observernet/web/site.hpp"

namespace observernet::api {
namespace {

using boost::asio::awaitable;
using http::ContentCoding;
using http::Fields;
using http::Method;
using http::Request;
using http::Response;

constexpr std::array<std::string_view, 7> kWebRoutes = {
    "/",          "/elections/{id}", "/receipts",       "/verify/{id}",
    "/vote/{id}", "/assets/{file}",  "/web-config.json"};

constexpr std::string_view kAssetPrefix = "/assets/";

// What a page may load and call: its own origin, and the API's when that is elsewhere.
// No inline script or style anywhere (web/README.md).
std::string content_security_policy(const std::string& api_base_url) {
  std::string connect = "'self'";
  if (auto origin = http::origin_of_url(api_base_url)) connect += " " + *origin;
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
         "connect-src " +
         connect +
         "; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
         "form-action 'self'";
}

Fields page_security_fields(const std::string& api_base_url) {
  return {
      {"Content-Security-Policy", content_security_policy(api_base_url)},
      {"Referrer-Policy", "no-referrer"},
      {"Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
  };
}

enum class Kind { page, not_found_page, asset };

// One file's answers, their fields prepared for each representation it has.
class PreparedFile {
 public:
  PreparedFile(const web::File& file, Kind kind, const Fields& security)
      : file_(file), kind_(kind) {
    for (auto coding : {ContentCoding::identity, ContentCoding::gzip, ContentCoding::br}) {
      if (!file.has(coding)) continue;
      Fields fields;
      if (coding != ContentCoding::identity) {
        fields.emplace_back("Content-Encoding", std::string(http::to_string(coding)));
      }
      fields.emplace_back("Vary", "Accept-Encoding");
      fields.emplace_back("Cache-Control",
                          kind == Kind::asset ? "public, max-age=31536000, immutable" : "no-cache");
      // A 404 page is not a representation of anything to revalidate.
      if (kind != Kind::not_found_page) fields.emplace_back("ETag", file.in(coding).etag);
      if (kind != Kind::asset) fields.insert(fields.end(), security.begin(), security.end());
      auto index = static_cast<std::size_t>(coding);
      not_modified_[index] = std::make_shared<const Fields>(fields);
      fields.emplace_back("Content-Type", file.content_type);
      full_[index] = std::make_shared<const Fields>(std::move(fields));
    }
  }

  Response respond(const Request& request) const {
    const ContentCoding coding =
        http::choose_content_coding(request.header("Accept-Encoding"),
                                    file_.has(ContentCoding::gzip), file_.has(ContentCoding::br));
    const auto index = static_cast<std::size_t>(coding);
    Response response;
    const std::string_view if_none_match = request.header("If-None-Match");
    if (kind_ != Kind::not_found_page && !if_none_match.empty() &&
        none_match(if_none_match, file_.in(coding).etag)) {
      response.status = 304;
      response.shared_headers = not_modified_[index];
      return response;
    }
    response.status = kind_ == Kind::not_found_page ? 404 : 200;
    response.shared_headers = full_[index];
    response.shared_body = file_.in(coding).body;
    return response;
  }

 private:
  const web::File& file_;
  Kind kind_;
  std::array<std::shared_ptr<const Fields>, 3> full_, not_modified_;  // by ContentCoding
};

struct PreparedSite {
  PreparedSite(std::shared_ptr<const web::Site> s, const WebRoutesOptions& options)
      : site(std::move(s)),
        security(page_security_fields(options.api_base_url)),
        booth(site->booth(), Kind::page, security),
        portal(site->portal(), Kind::page, security),
        not_found(site->not_found(), Kind::not_found_page, security) {}

  const PreparedFile* asset(std::string_view name) const {
    auto it = assets.find(name);
    return it == assets.end() ? nullptr : &it->second;
  }

  std::shared_ptr<const web::Site> site;  // owns the files the answers point into
  Fields security;
  PreparedFile booth, portal, not_found;
  std::map<std::string, PreparedFile, std::less<>> assets;
};

}  // namespace

void add_web_routes(http::Router& router, std::shared_ptr<const web::Site> site,
                    const WebRoutesOptions& options) {
  auto prepared = std::make_shared<PreparedSite>(site, options);
  for (const auto& [name, file] : site->assets()) {
    prepared->assets.emplace(name, PreparedFile(file, Kind::asset, prepared->security));
  }

  auto portal = [prepared](Request& request) -> awaitable<Response> {
    co_return prepared->portal.respond(request);
  };
  // The app's own routes only: an id that is no election's is the 404 page.
  auto election_page = [prepared](const PreparedFile PreparedSite::*page) {
    return [prepared, page](Request& request) -> awaitable<Response> {
      if (!domain::is_uuid(request.param("id"))) co_return prepared->not_found.respond(request);
      co_return ((*prepared).*page).respond(request);
    };
  };
  router.add(Method::get, "/", portal);
  router.add(Method::get, "/receipts", portal);
  router.add(Method::get, "/elections/{id}", election_page(&PreparedSite::portal));
  router.add(Method::get, "/verify/{id}", election_page(&PreparedSite::portal));
  router.add(Method::get, "/vote/{id}", election_page(&PreparedSite::booth));

  router.add(Method::get, "/assets/{file}", [prepared](Request& request) -> awaitable<Response> {
    const PreparedFile* file = prepared->asset(request.param("file"));
    co_return file ? file->respond(request) : prepared->not_found.respond(request);
  });

  // The pages' one setting (web/README.md): a page served from elsewhere (a CDN) finds
  // the API through this file, never through an inline script.
  auto config_body = std::make_shared<const std::string>(
      nlohmann::json{{"apiBaseUrl", options.api_base_url}}.dump());
  auto config_fields = std::make_shared<const Fields>(
      Fields{{"Content-Type", "application/json"}, {"Cache-Control", "no-cache"}});
  router.add(Method::get, "/web-config.json",
             [config_body, config_fields](Request&) -> awaitable<Response> {
               Response response;
               response.shared_headers = config_fields;
               response.shared_body = config_body;
               co_return response;
             });

  // Every other GET outside the API: an asset in a folder under assets/, else the 404
  // page. The API keeps its problem details.
  router.set_fallback(
      [prepared](Request& request) -> awaitable<Response> {
        if (request.path.starts_with(kAssetPrefix)) {
          auto name = http::percent_decode(request.path.substr(kAssetPrefix.size()));
          if (const PreparedFile* file = name ? prepared->asset(*name) : nullptr) {
            co_return file->respond(request);
          }
        }
        co_return prepared->not_found.respond(request);
      },
      [](std::string_view path) { return !path.starts_with("/api/"); });
}

bool is_web_route(std::string_view path_template) {
  for (auto route : kWebRoutes) {
    if (route == path_template) return true;
  }
  return false;
}

}  // namespace observernet::api
