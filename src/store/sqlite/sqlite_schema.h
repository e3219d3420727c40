// The SQLite schema as a list of forward migrations; PRAGMA user_version counts the steps applied.
#pragma once

#include "core/error.h"
#include "store/sqlite/sqlite_handle.h"

namespace memtrace::sqlite {

// The version a database has once every migration this build knows has been applied.
int latest_schema_version();

// Applies the missing migrations, all in one BEGIN IMMEDIATE transaction, so that several processes
// opening a new file at once migrate it exactly once. A database written by a newer build (a
// user_version above latest_schema_version()) is refused with kUnavailable, leaving it untouched.
Result<void> migrate(Connection& connection);

}  // namespace memtrace::sqlite
