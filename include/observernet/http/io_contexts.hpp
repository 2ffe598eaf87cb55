#pragma once
// One single-threaded io_context per I/O thread. A connection lives on one of them
// for its whole life, so its handlers never need a strand or a lock; the acceptor
// hands new connections out in turn.
#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace observernet::http {

class IoContexts {
 public:
  explicit IoContexts(std::size_t count);
  IoContexts(const IoContexts&) = delete;
  IoContexts& operator=(const IoContexts&) = delete;

  // The first context: acceptor, signals, shutdown.
  boost::asio::io_context& main() { return *contexts_.front(); }
  // The next context in turn, for a new connection.
  boost::asio::io_context& next();
  // Every context, the main one first.
  std::size_t size() const { return contexts_.size(); }
  boost::asio::io_context& at(std::size_t i) { return *contexts_.at(i); }

  // Runs every context, one thread each (the caller's thread runs the first), until
  // stop(). Exceptions from handlers propagate out of the thread that ran them.
  void run();
  // Stops every context; pending handlers are destroyed with the contexts.
  void stop();

 private:
  using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<Guard> guards_;  // keep idle contexts running until stop()
  std::atomic<std::size_t> next_{0};
};

}  // namespace observernet::http
