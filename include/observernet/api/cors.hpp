#pragma once
// Which API routes answer which origins (http.cors_origins, http.cors_public_any_origin).
#include <string>
#include <string_view>

#include "observernet/http/cors.hpp"
#include "observernet/http/server_options.hpp"

namespace observernet::api {

// The read-only public routes, which any origin may read when
// http.cors_public_any_origin: /api/v1/public/*, an election's token key, and receipts.
bool is_public_read_route(std::string_view path_template);

// The policy for the API under /api/: http.cors_origins, plus `public_origin` (the
// origin of web.public_url; empty: none).
http::CorsPolicy api_cors_policy(const http::ServerOptions& options,
                                 const std::string& public_origin);

}  // namespace observernet::api
