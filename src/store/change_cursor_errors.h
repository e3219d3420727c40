// The sentences every store answers a change feed cursor it cannot serve with (Store::read_changes), so
// that a client reads the same advice whichever backend it talks to.
#pragma once

#include <chrono>
#include <string>

#include "core/error.h"

namespace memtrace {

// Not a cursor this store hands out.
Error malformed_change_cursor(const std::string& cursor);
// Beyond the newest change of the store: it came from another store.
Error foreign_change_cursor(const std::string& cursor, const std::string& newest);
// Changes after it fell out of the retention: restart from `oldest`, or without a cursor.
Error expired_change_cursor(const std::string& cursor, std::chrono::milliseconds retention,
                            const std::string& oldest);

}  // namespace memtrace
