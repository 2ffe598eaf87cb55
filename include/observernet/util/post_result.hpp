#pragma once
// Completes a waiting operation from the event loop, never from inside the caller's
// stack: `handler(results...)` runs as a handler of its own on `executor`.
#include <boost/asio/post.hpp>
#include <tuple>
#include <utility>

namespace observernet::util {

template <class Executor, class Handler, class... Results>
void post_result(const Executor& executor, Handler&& handler, Results... results) {
  boost::asio::post(executor, [handler = std::forward<Handler>(handler),
                               results = std::make_tuple(std::move(results)...)]() mutable {
    std::apply(std::move(handler), std::move(results));
  });
}

}  // namespace observernet::util
