#pragma once
// The work a process does on its own, on a timer: each a service the App owns, starts
// after the listener is bound and stops when the drain begins.
//   Sequencer          gives waiting ballots their leaf indexes (docs/formats.md, Log)
//   Scheduler          opens and closes elections at opensAt / closesAt
//   LimitAdaptation    moves the rate limits' adaptive factor with the load
//   DependencyRefresh  keeps dependency_up fresh where nothing probes /readyz
//   ReplicaMonitor     measures a read replica's lag (store/pg_reads.hpp)
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus
namespace observernet::store {
class BoardStore;
class ElectionStore;
}  // namespace observernet::store
namespace observernet::cache {
class RateLimiter;
}

namespace observernet::service {

class DependencyCheck;
class PublicElections;

// A pass every `interval` until stop(). A failing pass is logged once, when it starts
// failing, and once when it recovers.
class BackgroundService {
 public:
  virtual ~BackgroundService() = default;
  BackgroundService(const BackgroundService&) = delete;
  BackgroundService& operator=(const BackgroundService&) = delete;

  // Both on the executor's thread.
  void start(const boost::asio::any_io_executor& executor);
  // Ends the wait; a pass under way finishes first (each of its calls has a deadline).
  void stop();
  // Until the loop has ended: the App's drain waits for this before it stops the event
  // loop, so that no pass is left waiting on a connection that will never answer.
  bool running() const { return state_->running; }

 protected:
  // `name`: the log events' prefix (`<name>_failed`, `<name>_recovered`).
  BackgroundService(std::string_view name, std::chrono::milliseconds interval,
                    bool first_pass_at_once);
  virtual boost::asio::awaitable<void> pass() = 0;

 private:
  boost::asio::awaitable<void> loop();

  // Shared with the loop's coroutine frame, which can outlive this object: when a pass
  // outlasts shutdown.timeout, the event loop stops with the frame suspended, and it is
  // destroyed with the io_context, after the App's services are gone.
  struct LoopState {
    std::atomic<bool> stopped{false};
    bool running = false;
    boost::asio::steady_timer* timer = nullptr;  // the loop's, while it waits
  };

  const std::string_view name_;
  const std::chrono::milliseconds interval_;
  const bool at_once_;
  const std::shared_ptr<LoopState> state_ = std::make_shared<LoopState>();
};

class Sequencer final : public BackgroundService {
 public:
  Sequencer(store::BoardStore& board, std::chrono::milliseconds interval,
            prometheus::Registry& registry);

 private:
  boost::asio::awaitable<void> pass() override;
  store::BoardStore& board_;
  prometheus::Gauge& pending_;
  prometheus::Gauge& lag_;
  prometheus::Counter& sequenced_;
  prometheus::Histogram& pass_seconds_;
};

// Every process looks; the database lets one of them act on each election.
class Scheduler final : public BackgroundService {
 public:
  Scheduler(store::ElectionStore& elections, PublicElections& published,
            std::chrono::milliseconds interval);

 private:
  boost::asio::awaitable<void> pass() override;
  store::ElectionStore& elections_;
  PublicElections& published_;
};

class LimitAdaptation final : public BackgroundService {
 public:
  LimitAdaptation(cache::RateLimiter& limiter, std::chrono::milliseconds interval);

 private:
  boost::asio::awaitable<void> pass() override;
  cache::RateLimiter& limiter_;
};

class DependencyRefresh final : public BackgroundService {
 public:
  explicit DependencyRefresh(DependencyCheck& check);

 private:
  boost::asio::awaitable<void> pass() override;
  DependencyCheck& check_;
};

// One per read replica (store::PgReads::measure), so that one replica slow to answer
// delays no other's measurement.
class ReplicaMonitor final : public BackgroundService {
 public:
  using Measure = std::function<boost::asio::awaitable<void>()>;
  ReplicaMonitor(Measure measure, std::chrono::milliseconds interval);

 private:
  boost::asio::awaitable<void> pass() override;
  Measure measure_;
};

}  // namespace observernet::service
