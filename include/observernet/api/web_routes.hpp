#pragma once
// The booth and the portal (web/README.md): pages, assets and /web-config.json from
// memory, with their caching, encoding and security fields.
#include <memory>
#include <string>
#include <string_view>

#include "observernet/http/router.hpp"

namespace observernet::web {
class Site;
}

namespace observernet::api {

struct WebRoutesOptions {
  std::string api_base_url;  // web.api_base_url: "" for the pages' own origin
};

// GET (and HEAD) of /, /elections/{id}, /receipts, /verify/{id} (the portal),
// /vote/{id} (the booth), /assets/{file}, /web-config.json, and the 404 page for every
// other GET outside /api/ that no route takes.
void add_web_routes(http::Router& router, std::shared_ptr<const web::Site> site,
                    const WebRoutesOptions& options);

// The web routes' templates: not rate limited, not in the OpenAPI description.
bool is_web_route(std::string_view path_template);

}  // namespace observernet::api
