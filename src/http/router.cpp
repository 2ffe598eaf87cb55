#include "observernet/http/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace observernet::http {
namespace {

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool valid_param_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::ranges::all_of(
      name, [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// "/a/b" -> {"a", "b"}; "/" -> {""}. The caller has checked the leading '/'.
template <class Out>
void split_path(std::string_view path, Out& out) {
  std::string_view rest = path.substr(1);
  for (;;) {
    auto slash = rest.find('/');
    out.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
}

bool same_shape(const Route& a, const Route& b) {
  if (a.segments.size() != b.segments.size()) return false;
  for (std::size_t i = 0; i < a.segments.size(); ++i) {
    bool pa = is_param(a.segments[i]), pb = is_param(b.segments[i]);
    if (pa != pb || (!pa && a.segments[i] != b.segments[i])) return false;
  }
  return true;
}

void append_allow(std::string& allow, Method m) {
  std::string_view name = to_string(m);
  if (allow.find(name) != std::string::npos) return;
  if (!allow.empty()) allow += ", ";
  allow += name;
}

}  // namespace

void Router::set_fallback(Handler handler, std::function<bool(std::string_view path)> applies) {
  fallback_ = std::make_unique<Route>();
  fallback_->method = Method::get;
  fallback_->path_template = "unmatched";
  fallback_->handler = std::move(handler);
  fallback_applies_ = std::move(applies);
}

void Router::match_fallback(Method method, std::string_view path, RouteMatch& result) const {
  if (fallback_ && (method == Method::get || method == Method::head) && fallback_applies_(path)) {
    result.kind = RouteMatch::Kind::found;
    result.route = fallback_.get();
  }
}

void Router::retain(const std::function<bool(const Route&)>& keep) {
  std::erase_if(routes_, [&keep](const std::unique_ptr<Route>& r) { return !keep(*r); });
}

void Router::add(Method method, std::string path_template, Handler handler, RouteOptions options) {
  if (path_template.empty() || path_template.front() != '/') {
    throw std::invalid_argument("route template must start with '/': " + path_template);
  }
  if (method == Method::other) throw std::invalid_argument("route needs a known method");
  auto route = std::make_unique<Route>();
  route->method = method;
  route->handler = std::move(handler);
  route->options = options;
  split_path(path_template, route->segments);
  for (const auto& segment : route->segments) {
    bool braces = segment.find_first_of("{}") != std::string::npos;
    if (braces && !(is_param(segment) && valid_param_name(segment.substr(1, segment.size() - 2)))) {
      throw std::invalid_argument("malformed parameter in route template: " + path_template);
    }
  }
  route->path_template = std::move(path_template);
  for (const auto& existing : routes_) {
    if (existing->method == method && same_shape(*existing, *route)) {
      throw std::invalid_argument("duplicate route: " + route->path_template);
    }
  }
  routes_.push_back(std::move(route));
}

RouteMatch Router::match(Method method, std::string_view path) const {
  RouteMatch result;
  if (path.empty() || path.front() != '/') return result;
  // On the stack: no allocation per request. Our routes have at most 8 segments, so
  // a longer path matches nothing.
  struct Segments {
    std::array<std::string_view, 16> items;
    std::size_t count = 0;
    void emplace_back(std::string_view s) {
      if (count < items.size()) items[count] = s;
      ++count;
    }
    std::size_t size() const { return count; }
    std::string_view operator[](std::size_t i) const { return items[i]; }
  } segments;
  split_path(path, segments);
  if (segments.size() > segments.items.size()) {
    match_fallback(method, path, result);
    return result;
  }

  const Route* get_route = nullptr;
  std::vector<std::pair<std::string_view, std::string>> get_params;
  for (const auto& route : routes_) {
    if (route->segments.size() != segments.size()) continue;
    // Literal segments first: most routes fail there, before anything is decoded.
    bool ok = true;
    for (std::size_t i = 0; ok && i < segments.size(); ++i) {
      const std::string& want = route->segments[i];
      ok = is_param(want) ? !segments[i].empty() : want == segments[i];
    }
    if (!ok) continue;
    std::vector<std::pair<std::string_view, std::string>> params;
    for (std::size_t i = 0; ok && i < segments.size(); ++i) {
      const std::string& want = route->segments[i];
      if (!is_param(want)) continue;
      auto decoded = percent_decode(segments[i]);
      ok = decoded && !decoded->empty();
      if (ok) {
        params.emplace_back(std::string_view(want).substr(1, want.size() - 2), std::move(*decoded));
      }
    }
    if (!ok) continue;
    if (route->method == method) {
      result.kind = RouteMatch::Kind::found;
      result.route = route.get();
      result.params = std::move(params);
      return result;
    }
    if (route->method == Method::get && !get_route) {
      get_route = route.get();
      get_params = std::move(params);
    }
    append_allow(result.allow, route->method);
    if (route->method == Method::get) append_allow(result.allow, Method::head);
    if (result.path_template.empty()) result.path_template = route->path_template;
  }
  if (method == Method::head && get_route) {
    result.kind = RouteMatch::Kind::found;
    result.route = get_route;
    result.params = std::move(get_params);
    result.allow.clear();
    return result;
  }
  if (!result.allow.empty()) {
    result.kind = RouteMatch::Kind::method_not_allowed;
  } else {
    match_fallback(method, path, result);
  }
  return result;
}

}  // namespace observernet::http
