#include "observernet/http/io_contexts.hpp"

#include <thread>

namespace observernet::http {

IoContexts::IoContexts(std::size_t count) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, count); ++i) {
    // Concurrency hint 1: each context is run by exactly one thread.
    contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
    guards_.push_back(boost::asio::make_work_guard(*contexts_.back()));
  }
}

boost::asio::io_context& IoContexts::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

void IoContexts::run() {
  std::vector<std::thread> threads;
  threads.reserve(contexts_.size() - 1);
  for (std::size_t i = 1; i < contexts_.size(); ++i) {
    threads.emplace_back([context = contexts_[i].get()] { context->run(); });
  }
  contexts_.front()->run();
  for (auto& t : threads) t.join();
}

void IoContexts::stop() {
  for (auto& context : contexts_) context->stop();
}

}  // namespace observernet::http
