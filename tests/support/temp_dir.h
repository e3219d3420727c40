// A temporary directory for a test, removed with everything in it when the object goes away.
#pragma once

#include <filesystem>
#include <string>

namespace memtrace::testing {

// Created under $TMPDIR (else /tmp) with a unique name and mode 0700.
//
// Thread-safety: const methods may be called from any thread; construction and destruction are the
// owner's.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "memtrace-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / relative, as a string (need not exist).
  std::string file(const std::string& relative) const { return (path_ / relative).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace memtrace::testing
