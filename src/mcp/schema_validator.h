// Validates JSON values against a JSON Schema (valijson), and explains a failure in one sentence
// a model can act on ("importance must be between 0 and 1, got 5").
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace memtrace::mcp {

// Thread-safety: immutable after construction; validate() may run concurrently.
class SchemaValidator {
 public:
  // The schema must stay alive as long as the validator (it is read when explaining errors).
  explicit SchemaValidator(const nlohmann::json& schema);
  ~SchemaValidator();
  SchemaValidator(SchemaValidator&&) noexcept;

  // nullopt when valid; otherwise a sentence naming the first offending field.
  std::optional<std::string> validate(const nlohmann::json& value) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace memtrace::mcp
