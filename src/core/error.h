// Error values carried on the request path (design.md §4): every layer returns Result<T>.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace memtrace {

enum class ErrorCode {
  kInvalidArgument,  // the caller can fix it: a bad value, a closed session, an unknown id format
  kNotFound,         // the thing named does not exist (or is not visible in this namespace)
  kConflict,         // the state forbids it: e.g. a task claimed by someone else
  kUnavailable,      // a dependency (database, Redis) cannot be reached right now; retrying may help
  kTimeout,          // a deadline passed
  kInternal,         // a bug or an unexpected failure; logged with details
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // a sentence a user or a model can act on
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

const char* to_string(ErrorCode code);

}  // namespace memtrace
