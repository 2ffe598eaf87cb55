#include "observernet/store/pg_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "observernet/error.hpp"
#include "observernet/util/log.hpp"

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
                           const PgSettings& settings)
    : conn_(with_connect_options(url, connect_timeout)),
      prepared_(settings.prepared_statements),
      replica_(settings.replica) {
  conn_.set_variable("statement_timeout", std::to_string(settings.statement_timeout.count()));
  // An answer is sent once its commit is durable: never with synchronous_commit off,
  // whatever the server's default, which would let a crash take back a receipt already
  // given. The other values (local, remote_write, on, remote_apply) are the operator's.
  pqxx::nontransaction tx(conn_);
  tx.exec(
      "SELECT set_config('synchronous_commit', 'on', false)"
      " WHERE current_setting('synchronous_commit') = 'off'");
}

struct CallWatchdog::State {
  std::mutex mutex;
  std::condition_variable changed;
  bool stopping = false;
  std::uint64_t next = 1;
  struct Watch {
    int socket;
    std::multimap<Clock::time_point, std::uint64_t>::iterator due;
  };
  std::unordered_map<std::uint64_t, Watch> watches;
  // Every watch's deadline, and only those: the thread wakes for the earliest, so calls
  // that end in time cost it no wake-up of their own.
  std::multimap<Clock::time_point, std::uint64_t> by_deadline;
  std::thread thread;

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (by_deadline.empty()) {
        changed.wait(lock);
        continue;
      }
      const auto [deadline, id] = *by_deadline.begin();
      if (Clock::now() < deadline) {
        changed.wait_until(lock, deadline);
        continue;
      }
      by_deadline.erase(by_deadline.begin());
      auto it = watches.find(id);
      // Under the lock: the call cannot end, and its connection close the socket, meanwhile.
      ::shutdown(it->second.socket, SHUT_RDWR);
      watches.erase(it);
      log::warn("postgres_call_cut", {{"reason",
                                       "no answer from PostgreSQL within the call's budget "
                                       "(database.call_timeout_ms); its connection is dropped"}});
    }
  }
};

CallWatchdog::CallWatchdog() : state_(std::make_unique<State>()) {
  state_->thread = std::thread([state = state_.get()] { state->run(); });
}

CallWatchdog::~CallWatchdog() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->changed.notify_all();
  state_->thread.join();
}

std::uint64_t CallWatchdog::arm(int socket, Clock::time_point deadline) {
  std::lock_guard lock(state_->mutex);
  const std::uint64_t id = state_->next++;
  const bool earliest =
      state_->by_deadline.empty() || deadline < state_->by_deadline.begin()->first;
  state_->watches.emplace(id, State::Watch{socket, state_->by_deadline.emplace(deadline, id)});
  if (earliest) state_->changed.notify_one();
  return id;
}

void CallWatchdog::extend(std::uint64_t watch, Clock::time_point deadline) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->watches.find(watch);
  if (it == state_->watches.end() || deadline <= it->second.due->first) return;
  // Later only: the thread, if it waits for this one, wakes early and waits again.
  state_->by_deadline.erase(it->second.due);
  it->second.due = state_->by_deadline.emplace(deadline, watch);
}

bool CallWatchdog::disarm(std::uint64_t watch) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->watches.find(watch);
  if (it == state_->watches.end()) return false;  // it fired
  state_->by_deadline.erase(it->second.due);
  state_->watches.erase(it);
  return true;
}

void PgPool::rethrow_unavailable() {
  const auto unavailable = [](const std::string& why) {
    return Error(ErrorCode::service_unavailable, "The database is unavailable; retry shortly.", {},
                 "postgres: " + why)
        .with_retry_after(1);
  };
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw unavailable(e.what());
  } catch (const pqxx::in_doubt_error& e) {
    // The commit's outcome is unknown: a retry of the same request finds out (ballots and
    // tokens are idempotent).
    throw unavailable(e.what());
  } catch (const pqxx::sql_error& e) {
    // Cancelled by statement_timeout, a lock not had within lock_timeout, a server
    // shutting down or starting up, a deadlock or serialization failure: transient.
    static const std::array<std::string_view, 7> transient{"57014", "55P03", "57P01", "57P02",
                                                           "57P03", "40P01", "40001"};
    if (std::ranges::find(transient, e.sqlstate()) != transient.end()) throw unavailable(e.what());
    throw;
  }
}

PgPool::~PgPool() = default;

PgPool::PgPool(std::string url, util::PoolOptions options, PgSettings settings,
               prometheus::Registry& registry, std::string name)
    : watchdog_(std::make_unique<CallWatchdog>()),
      call_timeout_(settings.call_timeout.count() > 0
                        ? settings.call_timeout
                        : settings.statement_timeout + std::chrono::seconds(1)),
      pool_(
          std::move(name), options,
          [url = std::move(url), connect = options.connect_timeout, settings] {
            return std::make_unique<PgConnection>(url, connect, settings);
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
