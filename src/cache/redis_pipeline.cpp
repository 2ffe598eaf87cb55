#include "observernet/cache/redis_pipeline.hpp"

#include <hiredis/hiredis.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
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

namespace observernet::cache {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A call waiting for its reply: the reader fills it and cancels the timer to wake it.
struct Waiter {
  explicit Waiter(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  Reply reply;
  bool done = false;
};

struct ReaderDeleter {
  void operator()(redisReader* r) const { redisReaderFree(r); }
};
using ReaderPtr = std::unique_ptr<redisReader, ReaderDeleter>;

}  // namespace

struct RedisPipeline::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor executor, RedisEndpoint endpoint, RedisPipelineOptions options)
      : executor(std::move(executor)),
        socket(this->executor),
        endpoint(std::move(endpoint)),
        options(options),
        reader(redisReaderCreate()) {}

  enum class Link { down, connecting, up };

  asio::any_io_executor executor;
  tcp::socket socket;
  const RedisEndpoint endpoint;
  const RedisPipelineOptions options;
  Link link = Link::down;
  Clock::time_point retry_at{};
  // Bumped by every close: coroutines of an earlier connection see it and stop.
  std::uint64_t generation = 0;
  std::string out;  // commands not yet handed to the socket
  bool writing = false;
  std::deque<Waiter*> in_flight;  // in the order their commands were written
  std::vector<asio::steady_timer*> awaiting_link;  // calls made while connecting
  ReaderPtr reader;

  void close_link(bool back_off) {
    ++generation;
    boost::system::error_code ignored;
    socket.close(ignored);
    link = Link::down;
    writing = false;
    out.clear();
    reader.reset(redisReaderCreate());
    if (back_off) retry_at = Clock::now() + options.retry_backoff;
    std::deque<Waiter*> waiting;
    waiting.swap(in_flight);
    for (Waiter* w : waiting) {
      w->done = true;  // with no reply
      w->timer.cancel();
    }
    wake_awaiting_link();
  }

  void wake_awaiting_link() {
    for (auto* timer : awaiting_link) timer->cancel();
  }

  void start_connect() {
    link = Link::connecting;
    asio::co_spawn(executor, connect(shared_from_this(), generation), asio::detached);
  }

  void enqueue(std::span<const std::string_view> args, Waiter* waiter) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (auto a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    char* command = nullptr;
    const int n = redisFormatCommandArgv(&command, static_cast<int>(argv.size()), argv.data(),
                                         lengths.data());
    if (n < 0) throw std::bad_alloc();
    out.append(command, static_cast<std::size_t>(n));
    redisFreeCommand(command);
    in_flight.push_back(waiter);
    if (!writing) {
      writing = true;
      asio::co_spawn(executor, write_loop(shared_from_this(), generation), asio::detached);
    }
  }

  asio::awaitable<Reply> call(std::span<const std::string_view> args) {
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
    if (link != Link::up) co_return nullptr;
    if (in_flight.size() >= options.max_in_flight) co_return nullptr;
    Waiter waiter(executor);
    enqueue(args, &waiter);
    co_return co_await wait(waiter);
  }

  // The reply to an enqueued command, or nullptr after command_timeout.
  asio::awaitable<Reply> wait(Waiter& waiter) {
    if (waiter.done) co_return std::move(waiter.reply);  // answered while we did not wait
    waiter.timer.expires_after(options.command_timeout);
    auto keep = shared_from_this();  // the connection may close while we wait
    co_await waiter.timer.async_wait(use_tuple);
    // Late: every reply behind this one would be late too.
    if (!waiter.done) close_link(true);
    co_return std::move(waiter.reply);
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<State> self, std::uint64_t gen) {
    std::string sending;
    while (gen == self->generation && !self->out.empty()) {
      sending.clear();
      sending.swap(self->out);
      auto [ec, n] = co_await asio::async_write(self->socket, asio::buffer(sending), use_tuple);
      if (gen != self->generation) co_return;  // closed meanwhile: not ours any more
      if (ec) {
        self->close_link(true);
        co_return;
      }
    }
    if (gen == self->generation) self->writing = false;
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
        Waiter* waiter = self->in_flight.front();
        self->in_flight.pop_front();
        waiter->reply = std::move(reply);
        waiter->done = true;
        waiter->timer.cancel();
      }
    }
  }

  static asio::awaitable<void> connect(std::shared_ptr<State> self, std::uint64_t gen) {
    tcp::resolver resolver(self->executor);
    // The whole connect, name lookup included, within connect_timeout.
    asio::steady_timer deadline(self->executor);
    deadline.expires_after(self->options.connect_timeout);
    bool expired = false;
    deadline.async_wait([&resolver, &expired, weak = std::weak_ptr<State>(self),
                         gen](boost::system::error_code ec) {
      auto s = weak.lock();
      if (ec || !s || s->generation != gen) return;
      expired = true;
      resolver.cancel();
      boost::system::error_code ignored;
      s->socket.close(ignored);
    });
    auto [rec, endpoints] = co_await resolver.async_resolve(
        self->endpoint.host, std::to_string(self->endpoint.port), use_tuple);
    boost::system::error_code cec = rec;
    if (!rec && !expired) {
      std::tie(cec, std::ignore) = co_await asio::async_connect(self->socket, endpoints, use_tuple);
    }
    deadline.cancel();
    if (gen != self->generation) co_return;
    if (cec || expired) {
      self->close_link(true);
      co_return;
    }
    boost::system::error_code ignored;
    self->socket.set_option(tcp::no_delay(true), ignored);
    self->link = Link::up;
    asio::co_spawn(self->executor, read_loop(self, gen), asio::detached);
    // Ahead of every other command on this connection, so those run as this user on
    // the right database: both are written before this coroutine first waits, so no
    // call can slip in between.
    Waiter auth(self->executor);
    Waiter select(self->executor);
    const std::string db = std::to_string(self->endpoint.db);
    if (!self->endpoint.password.empty()) {
      std::vector<std::string_view> args{"AUTH"};
      if (!self->endpoint.username.empty()) args.push_back(self->endpoint.username);
      args.push_back(self->endpoint.password);
      self->enqueue(args, &auth);
    }
    if (self->endpoint.db != 0) {
      const std::array<std::string_view, 2> args{"SELECT", db};
      self->enqueue(args, &select);
    }
    self->wake_awaiting_link();
    if (!self->endpoint.password.empty() && !self->ok(co_await self->wait(auth))) co_return;
    if (self->endpoint.db != 0) self->ok(co_await self->wait(select));
  }

  // An answer that is not an error; otherwise the connection is useless: closed.
  bool ok(const Reply& reply) {
    if (reply && reply->type != REDIS_REPLY_ERROR) return true;
    if (link == Link::up) close_link(true);
    return false;
  }
};

RedisPipeline::RedisPipeline(asio::any_io_executor executor, RedisEndpoint endpoint,
                             RedisPipelineOptions options)
    : state_(std::make_shared<State>(std::move(executor), std::move(endpoint), options)) {
  // Connected before the first request needs it.
  asio::post(state_->executor, [state = state_] {
    if (state->link == State::Link::down) state->start_connect();
  });
}

RedisPipeline::~RedisPipeline() {
  close();
}

asio::awaitable<Reply> RedisPipeline::call(std::span<const std::string_view> args) {
  return state_->call(args);
}

bool RedisPipeline::connected() const {
  return state_->link == State::Link::up;
}

void RedisPipeline::close() {
  // On the executor's thread, like every other use of the state.
  asio::post(state_->executor, [state = state_] { state->close_link(false); });
}

}  // namespace observernet::cache
