#include "observernet/store/pg_pool.hpp"

#include <algorithm>

namespace observernet::store {
namespace {

std::string with_connect_options(const std::string& url, std::chrono::milliseconds timeout) {
  // libpq counts connect_timeout in whole seconds and treats 1 as 2.
  auto seconds = std::max<long long>(2, (timeout.count() + 999) / 1000);
  std::string out = url;
  out += url.find('?') == std::string::npos ? '?' : '&';
  out += "connect_timeout=" + std::to_string(seconds) + "&application_name=observernet";
  return out;
}

}  // namespace

PgConnection::PgConnection(const std::string& url, std::chrono::milliseconds connect_timeout,
                           std::chrono::milliseconds statement_timeout)
    : conn_(with_connect_options(url, connect_timeout)) {
  conn_.set_variable("statement_timeout", std::to_string(statement_timeout.count()));
}

PgPool::PgPool(std::string url, util::PoolOptions options,
               std::chrono::milliseconds statement_timeout, prometheus::Registry& registry)
    : pool_(
          "postgres", options,
          [url = std::move(url), connect = options.connect_timeout, statement_timeout] {
            return std::make_unique<PgConnection>(url, connect, statement_timeout);
          },
          [](std::exception_ptr e) {
            try {
              std::rethrow_exception(e);
            } catch (const pqxx::broken_connection&) {
              return true;
            } catch (...) {
              return false;
            }
          },
          registry) {}

}  // namespace observernet::store
