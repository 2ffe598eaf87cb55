#include "observernet/cache/redis_pipeline.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <new>
#include <string>
#include <tuple>
#include <vector>

#include "observernet/util/post_result.hpp"

namespace observernet::cache {

void ReplyDeleter::operator()(redisReply* r) const {
  freeReplyObject(r);
}

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

using ReplyHandler = asio::any_completion_handler<void(Reply)>;

// A command written (or about to be) and waiting for its reply.
struct Waiter {
  ReplyHandler handler;
  Clock::time_point deadline;
};

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
using ReaderPtr = std::unique_ptr<redisReader, ReaderDeleter>;

}  // namespace

// Every member is used only on `executor`'s one thread.
//
// Costs per command, on the hot path: its bytes are appended to `out`, and its handler
// joins `in_flight`. Commands issued in one turn of the event loop leave in one write (a
// flush is posted behind them), and the replies of one read complete their callers in
// order. One timer per connection watches the oldest command's deadline.
struct RedisPipeline::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor executor, RedisEndpoint endpoint, RedisPipelineOptions options)
      : executor(std::move(executor)),
        socket(this->executor),
        watchdog(this->executor),
        endpoint(std::move(endpoint)),
        options(options),
        reader(redisReaderCreate()) {}

  enum class Link { down, connecting, up };

  asio::any_io_executor executor;
  tcp::socket socket;
  asio::steady_timer watchdog;
  bool watchdog_armed = false;
  const RedisEndpoint endpoint;
  const RedisPipelineOptions options;
  Link link = Link::down;
  Clock::time_point retry_at{};
  // Bumped by every close: handlers of an earlier connection see it and stop.
  std::uint64_t generation = 0;
  std::string out;  // commands not yet handed to the socket
  bool flush_posted = false;
  bool writing = false;
  std::deque<Waiter> in_flight;                    // in the order their commands were queued
  std::vector<asio::steady_timer*> awaiting_link;  // calls made while connecting
  ReaderPtr reader;

  // Answers `waiter` from the event loop, never from inside the caller's stack.
  void complete(Waiter& waiter, Reply reply) {
    util::post_result(executor, std::move(waiter.handler), std::move(reply));
  }

  void close_link(bool back_off) {
    ++generation;
    boost::system::error_code ignored;
    socket.close(ignored);
    link = Link::down;
    writing = false;
    out.clear();
    reader.reset(redisReaderCreate());
    if (back_off) retry_at = Clock::now() + options.retry_backoff;
    std::deque<Waiter> waiting;
    waiting.swap(in_flight);
    for (Waiter& w : waiting) complete(w, nullptr);
    wake_awaiting_link();
  }

  void wake_awaiting_link() {
    for (auto* timer : awaiting_link) timer->cancel();
  }

  void start_connect() {
    link = Link::connecting;
    asio::co_spawn(executor, connect(shared_from_this(), generation), asio::detached);
  }

  // Queues one command; `handler` gets its reply, or nullptr if the connection closes
  // or the reply is later than command_timeout.
  void submit(std::span<const std::string_view> args, ReplyHandler handler) {
    std::array<const char*, 16> argv{};
    std::array<std::size_t, 16> lengths{};
    if (args.size() > argv.size()) throw std::invalid_argument("too many Redis arguments");
    for (std::size_t i = 0; i < args.size(); ++i) {
      argv[i] = args[i].data();
      lengths[i] = args[i].size();
    }
    char* command = nullptr;
    const int n = redisFormatCommandArgv(&command, static_cast<int>(args.size()), argv.data(),
                                         lengths.data());
    if (n < 0) throw std::bad_alloc();
    out.append(command, static_cast<std::size_t>(n));
    redisFreeCommand(command);
    in_flight.push_back(Waiter{std::move(handler), Clock::now() + options.command_timeout});
    arm_watchdog();
    if (!flush_posted && !writing) {
      flush_posted = true;
      asio::post(executor, [self = shared_from_this()] {
        self->flush_posted = false;
        self->flush();
      });
    }
  }

  asio::awaitable<Reply> call(std::span<const std::string_view> args, bool asking) {
    if (endpoint.host.empty()) co_return nullptr;  // no Redis (cache/redis_endpoint.hpp)
    if (link == Link::down && Clock::now() >= retry_at) start_connect();
    if (link == Link::connecting) {
      // A connection on its way (at start, or after the back-off) is worth a short wait.
      asio::steady_timer timer(executor);
      timer.expires_after(options.command_timeout);
      awaiting_link.push_back(&timer);
      auto keep = shared_from_this();
      co_await timer.async_wait(use_tuple);
      std::erase(awaiting_link, &timer);
    }
    if (link != Link::up || in_flight.size() >= options.max_in_flight) co_return nullptr;
    auto keep = shared_from_this();  // the handler lives in `in_flight` until answered
    auto initiate = [this, args, asking](ReplyHandler handler) {
      if (asking) {
        static constexpr std::array<std::string_view, 1> kAsking{"ASKING"};
        submit(kAsking, [](Reply) {});
      }
      submit(args, std::move(handler));
    };
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Reply)>(
        initiate, asio::use_awaitable);
  }

  // Hands everything queued to the socket; what is queued meanwhile goes next.
  void flush() {
    if (writing || out.empty() || link != Link::up) return;
    writing = true;
    auto sending = std::make_unique<std::string>();
    sending->swap(out);
    const auto buffer = asio::buffer(*sending);
    asio::async_write(socket, buffer,
                      [self = shared_from_this(), gen = generation, sending = std::move(sending)](
                          boost::system::error_code ec, std::size_t) {
                        if (gen != self->generation) return;  // closed meanwhile
                        self->writing = false;
                        if (ec) {
                          self->close_link(true);
                          return;
                        }
                        self->flush();
                      });
  }

  // A reply later than its deadline holds up every reply behind it: the connection is
  // closed, and its callers answered nullptr.
  void arm_watchdog() {
    if (watchdog_armed || in_flight.empty()) return;
    watchdog_armed = true;
    watchdog.expires_at(in_flight.front().deadline);
    watchdog.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      self->watchdog_armed = false;
      if (ec || self->in_flight.empty()) return;
      if (self->in_flight.front().deadline <= Clock::now()) {
        self->close_link(true);
      } else {
        self->arm_watchdog();
      }
    });
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<State> self, std::uint64_t gen) {
    std::array<char, 16384> buffer;
    for (;;) {
      auto [ec, n] = co_await self->socket.async_read_some(asio::buffer(buffer), use_tuple);
      if (gen != self->generation) co_return;
      if (ec || redisReaderFeed(self->reader.get(), buffer.data(), n) != REDIS_OK) {
        self->close_link(true);
        co_return;
      }
      for (;;) {
        void* raw = nullptr;
        if (redisReaderGetReply(self->reader.get(), &raw) != REDIS_OK) {
          self->close_link(true);
          co_return;
        }
        if (raw == nullptr) break;
        Reply reply(static_cast<redisReply*>(raw));
        if (self->in_flight.empty()) {  // a reply nobody asked for
          self->close_link(true);
          co_return;
        }
        self->complete(self->in_flight.front(), std::move(reply));
        self->in_flight.pop_front();
      }
    }
  }

  static asio::awaitable<void> connect(std::shared_ptr<State> self, std::uint64_t gen) {
    tcp::resolver resolver(self->executor);
    // The whole connect, name lookup included, within connect_timeout.
    asio::steady_timer deadline(self->executor);
    deadline.expires_after(self->options.connect_timeout);
    // Shared with the timer's handler, which may run after this frame is gone.
    struct Race {
      bool finished = false;
      bool expired = false;
    };
    auto race = std::make_shared<Race>();
    deadline.async_wait(
        [&resolver, race, weak = std::weak_ptr<State>(self), gen](boost::system::error_code ec) {
          auto s = weak.lock();
          if (ec || race->finished || !s || s->generation != gen) return;
          race->expired = true;
          resolver.cancel();
          boost::system::error_code ignored;
          s->socket.close(ignored);
        });
    auto [rec, endpoints] = co_await resolver.async_resolve(
        self->endpoint.host, std::to_string(self->endpoint.port), use_tuple);
    boost::system::error_code cec = rec;
    if (!rec && !race->expired) {
      std::tie(cec, std::ignore) = co_await asio::async_connect(self->socket, endpoints, use_tuple);
    }
    race->finished = true;
    deadline.cancel();
    const bool expired = race->expired;
    if (gen != self->generation) co_return;
    if (cec || expired) {
      self->close_link(true);
      co_return;
    }
    boost::system::error_code ignored;
    self->socket.set_option(tcp::no_delay(true), ignored);
    self->link = Link::up;
    asio::co_spawn(self->executor, read_loop(self, gen), asio::detached);
    // Ahead of every other command on this connection, so that those run as this user
    // on the right database; an error answer closes the connection.
    auto check = [weak = std::weak_ptr<State>(self), gen](Reply reply) {
      auto s = weak.lock();
      if (!s || s->generation != gen) return;
      if (!reply || reply->type == REDIS_REPLY_ERROR) s->close_link(true);
    };
    if (!self->endpoint.password.empty()) {
      std::vector<std::string_view> args{"AUTH"};
      if (!self->endpoint.username.empty()) args.push_back(self->endpoint.username);
      args.push_back(self->endpoint.password);
      self->submit(args, check);
    }
    if (self->endpoint.db != 0) {
      const std::string db = std::to_string(self->endpoint.db);
      const std::array<std::string_view, 2> args{"SELECT", db};
      self->submit(args, check);
    }
    self->wake_awaiting_link();
  }
};

RedisPipeline::RedisPipeline(asio::any_io_executor executor, RedisEndpoint endpoint,
                             RedisPipelineOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(endpoint), options)) {
  // Connected before the first request needs it, unless there is no Redis.
  if (state_->endpoint.host.empty()) return;
  asio::post(state_->executor, [state = state_] {
    if (state->link == State::Link::down) state->start_connect();
  });
}

RedisPipeline::~RedisPipeline() {
  // On the executor's thread, like every other use of the state.
  asio::post(state_->executor, [state = state_] { state->close_link(false); });
}

asio::awaitable<Reply> RedisPipeline::call(std::span<const std::string_view> args) {
  return state_->call(args, false);
}

asio::awaitable<Reply> RedisPipeline::call_asking(std::span<const std::string_view> args) {
  return state_->call(args, true);
}

}  // namespace observernet::cache
