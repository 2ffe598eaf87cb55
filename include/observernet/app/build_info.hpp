#pragma once
namespace observernet::app {
extern const char* const kVersion;
extern const char* const kGitCommit;
}  // namespace observernet::app
