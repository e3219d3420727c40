// Whole-store enumerations of the SQLite store, for export and stats (never on the request path).
#include "store/sqlite/sqlite_export.h"

namespace memtrace::sqlite {

Result<std::vector<std::string>> list_namespaces(Connection& connection) {
  auto statement = connection.prepare(
      "SELECT ns FROM agents UNION SELECT ns FROM sessions UNION SELECT ns FROM memories "
      "UNION SELECT ns FROM task_claims ORDER BY 1",
      "list namespaces");
  if (!statement) return tl::unexpected(statement.error());
  std::vector<std::string> namespaces;
  for (;;) {
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return namespaces;
    namespaces.push_back(statement->text(0));
  }
}

Result<std::vector<Agent>> list_agents(Connection& connection, const std::string& ns) {
  auto statement = connection.prepare(
      "SELECT id, description, created_at FROM agents WHERE ns = ?1 ORDER BY id", "list agents");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns);
  std::vector<Agent> agents;
  for (;;) {
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return agents;
    agents.push_back(Agent{ns, statement->text(0), statement->text(1), statement->int64(2)});
  }
}

Result<std::vector<TaskClaim>> list_task_claims(Connection& connection, const std::string& ns,
                                                UnixMillis now) {
  auto statement = connection.prepare(
      "SELECT task_id, holder_agent, holder_session, claimed_at, lease_until, token FROM task_claims "
      "WHERE ns = ?1 AND state = 'claimed' AND lease_until > ?2 ORDER BY task_id",
      "list task claims");
  if (!statement) return tl::unexpected(statement.error());
  statement->bind(ns).bind(now);
  std::vector<TaskClaim> claims;
  for (;;) {
    auto row = statement->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return claims;
    claims.push_back(TaskClaim{ns, statement->text(0), statement->text(1), statement->text(2),
                               statement->int64(3), statement->int64(4), statement->int64(5)});
  }
}

Result<std::uint64_t> database_bytes(Connection& connection) {
  auto statement = connection.prepare(
      "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()", "measure the database");
  if (!statement) return tl::unexpected(statement.error());
  auto row = statement->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kInternal, "sqlite store: the page count came back empty");
  return static_cast<std::uint64_t>(statement->int64(0));
}

}  // namespace memtrace::sqlite
