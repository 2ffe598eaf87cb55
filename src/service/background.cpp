#include "observernet/service/background.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string>

#include "observernet/cache/rate_limiter.hpp"
#include "observernet/domain/election.hpp"
#include "observernet/service/health.hpp"
#include "observernet/service/public_elections.hpp"
#include "observernet/store/board.hpp"
#include "observernet/store/elections.hpp"
#include "observernet/util/log.hpp"

namespace observernet::service {
namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

BackgroundService::BackgroundService(std::string_view name, std::chrono::milliseconds interval,
                                     bool first_pass_at_once)
    : name_(name), interval_(interval), at_once_(first_pass_at_once) {}

void BackgroundService::start(const asio::any_io_executor& executor) {
  state_->running = true;
  asio::co_spawn(executor, loop(), asio::detached);
}

void BackgroundService::stop() {
  state_->stopped = true;
  if (state_->timer != nullptr) state_->timer->cancel();
}

awaitable<void> BackgroundService::loop() {
  // The frame's own reference: its end touches the state, never `this`.
  const std::shared_ptr<LoopState> state = state_;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  struct Running {
    LoopState& state;
    ~Running() {
      state.timer = nullptr;
      state.running = false;
    }
  } running{*state};
  state->timer = &timer;
  bool failing = false;
  for (bool first = true; !state->stopped; first = false) {
    if (!first || !at_once_) {
      timer.expires_after(interval_);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (state->stopped) break;
    }
    try {
      co_await pass();
      if (failing) log::info(std::string(name_) + "_recovered");
      failing = false;
    } catch (const std::exception& error) {
      if (!failing) log::warn(std::string(name_) + "_failed", {{"error", error.what()}});
      failing = true;
    }
  }
}

Sequencer::Sequencer(store::BoardStore& board, std::chrono::milliseconds interval,
                     prometheus::Registry& registry)
    : BackgroundService("sequencer", interval, false),
      board_(board),
      pending_(prometheus::BuildGauge()
                   .Name("ballots_pending_sequencing")
                   .Help("Accepted ballots not yet in their election's Merkle log")
                   .Register(registry)
                   .Add({})),
      lag_(prometheus::BuildGauge()
               .Name("sequencing_lag_seconds")
               .Help("How long the oldest ballot waiting for the log had waited")
               .Register(registry)
               .Add({})),
      sequenced_(prometheus::BuildCounter()
                     .Name("ballots_sequenced_total")
                     .Help("Ballots given leaf indexes by this process")
                     .Register(registry)
                     .Add({})),
      pass_seconds_(prometheus::BuildHistogram()
                        .Name("sequencer_pass_seconds")
                        .Help("Time of one sequencer pass over every election with ballots waiting")
                        .Register(registry)
                        .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.05,
                                                                         0.1, 0.5, 1, 5, 10})) {}

awaitable<void> Sequencer::pass() {
  const auto started = Clock::now();
  auto pass = co_await board_.sequence_pending();
  pass_seconds_.Observe(std::chrono::duration<double>(Clock::now() - started).count());
  pending_.Set(static_cast<double>(pass.pending - std::min(pass.pending, pass.sequenced)));
  lag_.Set(pass.lag_seconds);
  sequenced_.Increment(static_cast<double>(pass.sequenced));
}

Scheduler::Scheduler(store::ElectionStore& elections, PublicElections& published,
                     std::chrono::milliseconds interval)
    : BackgroundService("scheduler", interval, true),
      elections_(elections),
      published_(published) {}

awaitable<void> Scheduler::pass() {
  for (const auto& e : co_await elections_.run_schedule()) {
    log::info("election_scheduled", {{"election", e.id}, {"status", domain::to_string(e.status)}});
    co_await published_.publish(e);
  }
}

LimitAdaptation::LimitAdaptation(cache::RateLimiter& limiter, std::chrono::milliseconds interval)
    : BackgroundService("rate_limit_adaptation", interval, false), limiter_(limiter) {}

awaitable<void> LimitAdaptation::pass() {
  limiter_.adapt();
  co_return;
}

DependencyRefresh::DependencyRefresh(DependencyCheck& check)
    : BackgroundService("dependency_check", std::chrono::seconds(5), true), check_(check) {}

awaitable<void> DependencyRefresh::pass() {
  co_await check_.run();
}

ReplicaMonitor::ReplicaMonitor(Measure measure, std::chrono::milliseconds interval)
    : BackgroundService("replica_lag", interval, true), measure_(std::move(measure)) {}

awaitable<void> ReplicaMonitor::pass() {
  co_await measure_();
}

}  // namespace observernet::service
