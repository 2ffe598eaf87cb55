#include "observernet/web/site.hpp"

#include <fstream>
#include <system_error>

#include "observernet/crypto/hash.hpp"

namespace observernet::web {
namespace fs = std::filesystem;
namespace {

using http::ContentCoding;

constexpr std::array<std::pair<ContentCoding, std::string_view>, 2> kPrecompressed = {
    {{ContentCoding::gzip, ".gz"}, {ContentCoding::br, ".br"}}};

class Loader {
 public:
  explicit Loader(std::uint64_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const std::string> read(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw SiteError("cannot read " + path.string() + ": " + ec.message());
    if (size > max_bytes_ || total_ > max_bytes_ - size) {
      throw SiteError("the files under web.root exceed web.max_bytes (" +
                      std::to_string(max_bytes_) + " bytes) at " + path.string());
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes(size, '\0');
    if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size)) ||
        in.peek() != std::ifstream::traits_type::eof()) {
      throw SiteError("cannot read " + path.string() + " whole (did it change while read?)");
    }
    auto body = std::make_shared<const std::string>(std::move(bytes));
    total_ += size;
    return body;
  }

  // The file and whichever of its .gz and .br siblings exist.
  File file(const fs::path& path) {
    File file;
    file.content_type = std::string(content_type_for(path.filename().string()));
    auto& identity = file.representations[static_cast<std::size_t>(ContentCoding::identity)];
    identity = {read(path), {}};
    identity.etag = etag(*identity.body, "");
    for (const auto& [coding, suffix] : kPrecompressed) {
      fs::path sibling = path;
      sibling += suffix;
      if (!fs::is_regular_file(sibling)) continue;
      auto body = read(sibling);
      std::string tag = etag(*body, std::string("-").append(http::to_string(coding)));
      file.representations[static_cast<std::size_t>(coding)] = {std::move(body), std::move(tag)};
    }
    return file;
  }

  std::uint64_t total() const { return total_; }

 private:
  // Strong, from the bytes: a rebuilt site changes it, a restart does not. The coding's
  // suffix keeps representations apart even if two of them had the same bytes.
  static std::string etag(const std::string& bytes, const std::string& suffix) {
    return "\"" + crypto::to_hex(crypto::sha256(bytes)).substr(0, 32) + suffix + "\"";
  }

  std::uint64_t max_bytes_;
  std::uint64_t total_ = 0;
};

bool precompressed_sibling(const fs::path& path) {
  const std::string name = path.filename().string();
  for (const auto& [coding, suffix] : kPrecompressed) {
    if (name.ends_with(suffix) && name.size() > suffix.size()) return true;
  }
  return false;
}

constexpr std::array<std::string_view, 3> kPages = {"booth.html", "portal.html", "404.html"};

}  // namespace

Site Site::load(const fs::path& root, std::uint64_t max_bytes) {
  for (auto page : kPages) {
    if (!fs::is_regular_file(root / page)) {
      throw SiteError(root.string() + " holds no " + std::string(page) +
                      " (web.root must hold the built pages: cd web && npm ci && npm run build)");
    }
  }
  Loader loader(max_bytes);
  Site site;
  site.booth_ = loader.file(root / "booth.html");
  site.portal_ = loader.file(root / "portal.html");
  site.not_found_ = loader.file(root / "404.html");
  const fs::path assets = root / "assets";
  if (fs::is_directory(assets)) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(assets, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file() || precompressed_sibling(it->path())) continue;
      const std::string name = it->path().lexically_relative(assets).generic_string();
      site.assets_.emplace(name, loader.file(it->path()));
    }
    if (ec) throw SiteError("cannot list " + assets.string() + ": " + ec.message());
  }
  site.total_bytes_ = loader.total();
  return site;
}

const File* Site::asset(std::string_view name) const {
  auto it = assets_.find(name);
  return it == assets_.end() ? nullptr : &it->second;
}

std::string_view content_type_for(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
      {".wasm", "application/wasm"},
      {".webp", "image/webp"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (file_name.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

bool holds_pages(const fs::path& root) {
  for (auto page : kPages) {
    std::error_code ec;
    if (!fs::is_regular_file(root / page, ec)) return false;
  }
  return true;
}

std::optional<fs::path> default_root() {
  std::error_code ec;
  const fs::path executable = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && holds_pages(executable.parent_path() / "web")) return executable.parent_path() / "web";
#ifdef OBSERVERNET_SOURCE_WEB_DIST
  if (holds_pages(OBSERVERNET_SOURCE_WEB_DIST)) return fs::path(OBSERVERNET_SOURCE_WEB_DIST);
#endif
  return std::nullopt;
}

}  // namespace observernet::web
