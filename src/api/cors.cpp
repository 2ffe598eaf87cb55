#include "observernet/api/cors.hpp"

namespace observernet::api {

bool is_public_read_route(std::string_view path_template) {
  return path_template.starts_with("/api/v1/public/") ||
         path_template == "/api/v1/elections/{id}/token-key" ||
         path_template.starts_with("/api/v1/voting/receipts/");
}

http::CorsPolicy api_cors_policy(const http::ServerOptions& options,
                                 const std::string& public_origin) {
  http::CorsOptions cors;
  cors.prefix = "/api/";
  cors.allowed_origins = options.cors_origins;
  if (!public_origin.empty()) cors.allowed_origins.push_back(public_origin);
  cors.public_any_origin = options.cors_public_any_origin;
  cors.is_public = is_public_read_route;
  return http::CorsPolicy(std::move(cors));
}

}  // namespace observernet::api
