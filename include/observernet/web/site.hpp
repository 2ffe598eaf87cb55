#pragma once
// The web front end's built files (web/README.md), read once at start and held in
// memory: the three pages, and every file under assets/, each with the .gz and .br
// siblings the build wrote beside it.
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "observernet/http/content_coding.hpp"

namespace observernet::web {

// A root that cannot be loaded: what is missing or too large, in one line.
class SiteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One representation of a file: its bytes and a strong entity tag (RFC 9110 §8.8.3),
// different for each coding of the same file.
struct Representation {
  std::shared_ptr<const std::string> body;  // null: no such representation
  std::string etag;
};

struct File {
  std::string content_type;
  std::array<Representation, 3> representations;  // by http::ContentCoding

  const Representation& in(http::ContentCoding coding) const {
    return representations[static_cast<std::size_t>(coding)];
  }
  bool has(http::ContentCoding coding) const { return in(coding).body != nullptr; }
};

class Site {
 public:
  // Reads `root`: booth.html, portal.html and 404.html must be there; assets/ may be.
  // Throws SiteError when a page is missing, a file cannot be read, or the files
  // together exceed `max_bytes`.
  static Site load(const std::filesystem::path& root, std::uint64_t max_bytes);

  const File& booth() const { return booth_; }
  const File& portal() const { return portal_; }
  const File& not_found() const { return not_found_; }
  // `name` relative to assets/ ("booth.3f2a9c.js", or "fonts/x.woff2"); null if none.
  const File* asset(std::string_view name) const;
  const std::map<std::string, File, std::less<>>& assets() const { return assets_; }

  std::uint64_t total_bytes() const { return total_bytes_; }
  std::size_t file_count() const { return assets_.size() + 3; }

 private:
  File booth_, portal_, not_found_;
  std::map<std::string, File, std::less<>> assets_;
  std::uint64_t total_bytes_ = 0;
};

// The Content-Type of a file by its extension (application/octet-stream when unknown).
std::string_view content_type_for(std::string_view file_name);

// Where the pages are when web.root is not set: <folder of the executable>/web, else the
// source tree's web/dist, whichever holds the pages; nullopt when neither does.
std::optional<std::filesystem::path> default_root();

// Whether `root` holds the three pages.
bool holds_pages(const std::filesystem::path& root);

}  // namespace observernet::web
