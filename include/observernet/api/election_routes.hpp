#pragma once
// The elections' routes (docs/api/README.md): the admin routes (an admin key each) and
// the public reads of elections and their audit chains.
#include <chrono>
#include <string>

#include "observernet/domain/voters.hpp"
#include "observernet/http/router.hpp"

namespace observernet::service {
class ElectionAdmin;
class PublicElections;
}  // namespace observernet::service

namespace observernet::api {

class AdminAuth;

struct AdminRoutesDependencies {
  service::ElectionAdmin& admin;
  const AdminAuth& auth;
  domain::VoterImportLimits import_limits;
  std::size_t import_body_limit;
  // web.public_url: when set, each imported voter's credentials come with their link to
  // the booth.
  std::string public_url;
};

struct PublicRoutesDependencies {
  service::PublicElections& published;
  std::chrono::seconds public_max_age;
};

void add_admin_election_routes(http::Router& router, AdminRoutesDependencies deps);
void add_public_election_routes(http::Router& router, PublicRoutesDependencies deps);

}  // namespace observernet::api
