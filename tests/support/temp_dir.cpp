// A temporary directory for a test, removed recursively on destruction.
#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace memtrace::testing {

TempDir::TempDir(const std::string& prefix) {
  std::error_code error;
  std::filesystem::path base = std::filesystem::temp_directory_path(error);  // $TMPDIR, else /tmp
  if (error) base = "/tmp";
  const std::string pattern = (base / (prefix + "-XXXXXX")).string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    // A test cannot run without it; fail loudly (tests may throw, the code under test may not).
    throw std::runtime_error("cannot create a temporary directory from " + pattern + ": " +
                             std::error_code(errno, std::generic_category()).message());
  }
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  // Tests may leave read-only folders behind (permission tests); make them writable before removing.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ignored);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ignored)) {
    if (it->is_directory(ignored)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ignored);
    }
  }
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace memtrace::testing
