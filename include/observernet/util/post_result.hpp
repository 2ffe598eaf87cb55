#pragma once
// Completes a waiting operation from the event loop, never from inside the caller's
// stack: `handler(result)` runs as a handler of its own on `executor`.
#include <boost/asio/post.hpp>
#include <utility>

namespace observernet::util {

template <class Executor, class Handler, class Result>
void post_result(const Executor& executor, Handler&& handler, Result result) {
  boost::asio::post(
      executor, [handler = std::forward<Handler>(handler), result = std::move(result)]() mutable {
        std::move(handler)(std::move(result));
      });
}

}  // namespace observernet::util
