// Lua sources of the Redis store's atomic operations (key layout: redis_keys.h), and EVALSHA with
// reload on NOSCRIPT.
#include "store/redis/redis_scripts.h"

#include <string_view>

namespace memtrace::redis {
namespace {

// Helpers every script starts with. P is the namespace prefix "mt:v1:{ns}:".
constexpr std::string_view kPrelude = R"lua(
local P = KEYS[1]

-- Ids must compare bytewise, like lex ranges do. Lua's < on strings uses strcoll, i.e. the server's
-- LC_COLLATE: bytewise under C, POSIX and C.UTF-8 (code point order), but not under a language locale
-- (there 'a' < 'B'). The probe picks the fast native < when it agrees with bytes, else a byte loop.
local less
if 'B' < 'a' and 'Z' < '_' and '_' < 'a' and '9' < 'A' and not ('a' < 'B') then
  less = function(a, b) return a < b end
else
  less = function(a, b)
    if a == b then return false end
    for i = 1, math.min(#a, #b) do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then return x < y end
    end
    return #a < #b
  end
end

-- "<length>:<bytes>" repeated -> list (the C++ side encodes tags this way).
local function decode_list(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    if not colon then break end
    local n = tonumber(string.sub(s, pos, colon - 1))
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return out
end

-- Removes a memory and every index entry naming it, guided by its mx record (which has no TTL, so
-- this works after Redis expired the memory hash itself). Returns the session id, or nil if there
-- was no index record.
local function unindex(id)
  local x = redis.call('HMGET', P .. 'mx:' .. id, 's', 'a', 't', 'g', '3')
  local sid = x[1]
  if not sid then
    redis.call('DEL', P .. 'm:' .. id)
    return nil
  end
  redis.call('ZREM', P .. 'mi:all', id)
  redis.call('ZREM', P .. 'mi:time', id)
  redis.call('ZREM', P .. 'mi:imp', id)
  redis.call('ZREM', P .. 'mi:exp', id)
  redis.call('ZREM', P .. 'mi:s:' .. sid, id)
  redis.call('ZREM', P .. 'mi:se:' .. sid, id)
  redis.call('ZREM', P .. 'mi:sw:' .. sid, id)
  redis.call('ZREM', P .. 'mi:a:' .. x[2], id)
  redis.call('ZREM', P .. 'mi:t:' .. x[3], id)
  for _, tag in ipairs(decode_list(x[4])) do redis.call('ZREM', P .. 'mi:g:' .. tag, id) end
  local tri = x[5]
  for i = 1, #tri, 3 do redis.call('SREM', P .. 'mi:3:' .. string.sub(tri, i, i + 2), id) end
  redis.call('DEL', P .. 'm:' .. id, P .. 'mx:' .. id)
  return sid
end

-- Ids of the lex-ordered zsets `keys` below the bound `hi`, newest first; several zsets are merged
-- into one descending stream. Fetches `batch` ids per zset at a time.
local function lex_stream(keys, hi, batch)
  local bufs, pos, cursor, done = {}, {}, {}, {}
  for i = 1, #keys do bufs[i] = {}; pos[i] = 1; cursor[i] = hi; done[i] = false end
  local function head(i)
    if pos[i] > #bufs[i] then
      if done[i] then return nil end
      bufs[i] = redis.call('ZREVRANGEBYLEX', keys[i], cursor[i], '-', 'LIMIT', 0, batch)
      pos[i] = 1
      if #bufs[i] < batch then done[i] = true end
      if #bufs[i] == 0 then return nil end
      cursor[i] = '(' .. bufs[i][#bufs[i]]
    end
    return bufs[i][pos[i]]
  end
  return function()
    local best, best_id = nil, nil
    for i = 1, #keys do
      local id = head(i)
      if id and (best_id == nil or less(best_id, id)) then best, best_id = i, id end
    end
    if not best then return nil end
    for i = 1, #keys do
      if i ~= best and head(i) == best_id then pos[i] = pos[i] + 1 end
    end
    pos[best] = pos[best] + 1
    return best_id
  end
end

-- `ids` below `before`, newest first, as a stream.
local function sorted_stream(ids, before)
  local kept = {}
  for _, id in ipairs(ids) do
    if before == '' or less(id, before) then kept[#kept + 1] = id end
  end
  table.sort(kept, function(a, b) return less(b, a) end)
  local i = 0
  return function() i = i + 1; return kept[i] end
end
)lua";

// insert_memory. One atomic step: the memory hash (PEXPIREAT when it has a TTL that lies ahead of
// the server's clock), its unindex record, every index entry, the session's participants, the
// agent's sessions, the sliding window, and the change event.
// ARGV: id session agent type content tags(encoded) importance created_at expires_at|'' metadata
//       has_reasoning(0|1) reasoning trigrams max_per_session
constexpr std::string_view kRemember = R"lua(
local id, sid, agent, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local imp, ca, ea, tri = ARGV[7], ARGV[8], ARGV[9], ARGV[13]
local status = redis.call('HGET', P .. 's:' .. sid, 'st')
if not status then
  return redis.error_reply('MT_NOT_FOUND there is no session ' .. sid .. ' to write into')
end
if status == 'closed' then
  return redis.error_reply('MT_INVALID session ' .. sid .. ' is closed and takes no new memories')
end
if redis.call('EXISTS', P .. 'mx:' .. id) == 1 or redis.call('EXISTS', P .. 'm:' .. id) == 1 then
  return redis.error_reply('MT_CONFLICT a memory with id ' .. id .. ' exists already')
end
local m = P .. 'm:' .. id
local fields = {'id', id, 's', sid, 'a', agent, 't', typ, 'c', ARGV[5], 'g', ARGV[6], 'i', imp, 'ca', ca,
                'md', ARGV[10]}
if ea ~= '' then fields[#fields + 1] = 'ea'; fields[#fields + 1] = ea end
if ARGV[11] == '1' then fields[#fields + 1] = 'r'; fields[#fields + 1] = ARGV[12] end
redis.call('HSET', m, unpack(fields))
redis.call('HSET', P .. 'mx:' .. id, 's', sid, 'a', agent, 't', typ, 'g', ARGV[6], '3', tri)
if ea ~= '' then
  -- Expiry is judged by the caller's clock (query.now). PEXPIREAT only frees memory: a deadline
  -- already past by the server's clock (a test's fake clock, clock skew) must not delete the memory
  -- before the caller's clock says so; queries and purge_expired handle those.
  local t = redis.call('TIME')
  local server_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if tonumber(ea) > server_ms then redis.call('PEXPIREAT', m, ea) end
  redis.call('ZADD', P .. 'mi:exp', ea, id)
  redis.call('ZADD', P .. 'mi:se:' .. sid, ea, id)
end
redis.call('ZADD', P .. 'mi:all', 0, id)
redis.call('ZADD', P .. 'mi:time', ca, id)
redis.call('ZADD', P .. 'mi:imp', imp, id)
redis.call('ZADD', P .. 'mi:s:' .. sid, 0, id)
redis.call('ZADD', P .. 'mi:sw:' .. sid, imp, id)
redis.call('ZADD', P .. 'mi:a:' .. agent, 0, id)
redis.call('ZADD', P .. 'mi:t:' .. typ, 0, id)
for _, tag in ipairs(decode_list(ARGV[6])) do redis.call('ZADD', P .. 'mi:g:' .. tag, 0, id) end
for i = 1, #tri, 3 do redis.call('SADD', P .. 'mi:3:' .. string.sub(tri, i, i + 2), id) end
redis.call('SADD', P .. 'sp:' .. sid, agent)
redis.call('ZADD', P .. 'si:a:' .. agent, 0, sid)

-- The sliding window: past max memories, drop the session's expired ones (by this memory's time),
-- then the least important (ties: the oldest), never the memory just written.
local max, evicted = tonumber(ARGV[14]), 0
if max > 0 then
  local excess = redis.call('ZCARD', P .. 'mi:s:' .. sid) - max
  if excess > 0 then
    for _, old in ipairs(redis.call('ZRANGEBYSCORE', P .. 'mi:se:' .. sid, '-inf', ca, 'LIMIT', 0, excess)) do
      if old ~= id then unindex(old); evicted = evicted + 1; excess = excess - 1 end
    end
  end
  while excess > 0 do
    local progress = false
    for _, old in ipairs(redis.call('ZRANGE', P .. 'mi:sw:' .. sid, 0, excess)) do
      if excess == 0 then break end
      if old ~= id then
        if not unindex(old) then
          redis.call('ZREM', P .. 'mi:sw:' .. sid, old)
          redis.call('ZREM', P .. 'mi:s:' .. sid, old)
        end
        evicted = evicted + 1; excess = excess - 1; progress = true
      end
    end
    if not progress then break end
  end
end
redis.call('PUBLISH', P .. 'events', 'm:' .. sid)
return evicted
)lua";

// delete_memory. ARGV: id. Returns 1 if a live memory hash was removed.
constexpr std::string_view kForget = R"lua(
local id = ARGV[1]
local live = redis.call('EXISTS', P .. 'm:' .. id) == 1
local sid = unindex(id)
if sid and live then
  redis.call('PUBLISH', P .. 'events', 'm:' .. sid)
  return 1
end
return 0
)lua";

// get_memory. ARGV: id. The memory's fields; if Redis expired the hash, its index entries go too.
constexpr std::string_view kGetMemory = R"lua(
local id = ARGV[1]
local h = redis.call('HGETALL', P .. 'm:' .. id)
if #h == 0 and redis.call('EXISTS', P .. 'mx:' .. id) == 1 then unindex(id) end
return h
)lua";

// query_memories, one bounded slice. Plans by index sizes (ZLEXCOUNT/ZCOUNT O(log n), SCARD O(1)):
// the smallest of the all-of zsets (session, agent, tags), the union of the type zsets, or every
// memory drives a walk newest first. A candidate set small enough to list whole (list_max) drives it
// instead when listing it is cheaper than the walk: the intersection of the needle's trigram sets
// (SINTER), or a since/until or importance window; it is listed and sorted. Each candidate is checked against
// the other filters (ZSCORE, SISMEMBER, the hash's fields, expiry vs now, and finally the lower-cased content
// contains the needle); a hash Redis expired is unindexed on the spot. Stops after `limit` matches or
// `budget` candidates. ARGV: now before limit budget since until min_importance needle list_max
//       n_all all-of-zset-suffix... n_types type... n_trigrams trigram-set-suffix...
// Returns {last examined id, more (0|1), examined, memory-hash-fields...}.
constexpr std::string_view kQueryMemories = R"lua(
local now = tonumber(ARGV[1])
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local since, until_, min_imp, needle = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local list_max = tonumber(ARGV[9])
local pos = 10
local function read_list(prefix)
  local n, items = tonumber(ARGV[pos]), {}
  for i = 1, n do items[i] = prefix .. ARGV[pos + i] end
  pos = pos + n + 1
  return items
end
local all = read_list(P)
local types = read_list('')
local trigrams = read_list(P)
local type_keys, type_ok = {}, {}
for i, t in ipairs(types) do
  type_keys[i] = P .. 'mi:t:' .. t
  type_ok[t] = true
end

local hi = before == '' and '+' or '(' .. before
local function below(key) return redis.call('ZLEXCOUNT', key, '-', hi) end
local nothing = {before, 0, 0}

-- Streams walked in id order, stopping after `limit` matches.
local drive, cost, drive_index = nil, nil, 0
for i, key in ipairs(all) do
  local c = below(key)
  if c == 0 then return nothing end
  if not cost or c < cost then drive, cost, drive_index = {key}, c, i end
end
if #type_keys > 0 then
  local c = 0
  for _, key in ipairs(type_keys) do c = c + below(key) end
  if c == 0 then return nothing end
  if not cost or c < cost then drive, cost, drive_index = type_keys, c, 0 end
end
if not drive then
  drive = {P .. 'mi:all'}
  cost = below(drive[1])
end
-- A candidate set of size n is listed whole (SINTER or ZRANGEBYSCORE, then a sort) when that is
-- cheaper than the walk, which examines about (limit + 1) * cost / n ids to find limit matches if the
-- n candidates are spread evenly over the `cost` ids it walks. Listing an id costs about a quarter of
-- examining one (C commands and a sort, against a Lua check per id).
local listed, listed_cost = nil, nil
local function cheaper_listed(n)
  local walk = math.min(cost, (limit + 1) * cost / math.max(n, 1))
  return n <= list_max and n / 4 < walk and (not listed_cost or n < listed_cost)
end
if #trigrams > 0 then
  local smallest = nil
  for _, key in ipairs(trigrams) do
    local c = redis.call('SCARD', key)
    if c == 0 then return nothing end
    if not smallest or c < smallest then smallest = c end
  end
  if cheaper_listed(smallest) then
    listed, listed_cost = function() return redis.call('SINTER', unpack(trigrams)) end, smallest
  end
end
if since ~= '' or until_ ~= '' then
  local lo = since ~= '' and since or '-inf'
  local top = until_ ~= '' and ('(' .. until_) or '+inf'
  local c = redis.call('ZCOUNT', P .. 'mi:time', lo, top)
  if c == 0 then return nothing end
  if cheaper_listed(c) then
    listed, listed_cost = function() return redis.call('ZRANGEBYSCORE', P .. 'mi:time', lo, top) end, c
  end
end
if min_imp ~= '' then
  local c = redis.call('ZCOUNT', P .. 'mi:imp', min_imp, '+inf')
  if c == 0 then return nothing end
  if cheaper_listed(c) then
    listed, listed_cost = function() return redis.call('ZRANGEBYSCORE', P .. 'mi:imp', min_imp, '+inf') end, c
  end
end
local next_id
if listed then
  next_id = sorted_stream(listed(), before)
  drive_index = 0
else
  next_id = lex_stream(drive, hi, math.min(budget, math.max(limit + 1, 32)))
end

local since_n = since ~= '' and tonumber(since) or nil
local until_n = until_ ~= '' and tonumber(until_) or nil
local min_n = min_imp ~= '' and tonumber(min_imp) or nil
local out = {before, 0, 0}
local last, examined, more, found = before, 0, 0, 0
while true do
  if examined >= budget then more = 1; break end
  local id = next_id()
  if not id then break end
  examined = examined + 1
  last = id
  local m = P .. 'm:' .. id
  local f = redis.call('HMGET', m, 't', 'ca', 'i', 'ea')
  if not f[2] then
    if not unindex(id) and not listed then
      for _, key in ipairs(drive) do redis.call('ZREM', key, id) end
    end
  else
    local ok = #types == 0 or type_ok[f[1]] == true
    local ca = tonumber(f[2])
    if ok and since_n and ca < since_n then ok = false end
    if ok and until_n and ca >= until_n then ok = false end
    if ok and min_n and tonumber(f[3]) < min_n then ok = false end
    if ok and f[4] and tonumber(f[4]) <= now then ok = false end
    if ok then
      for i, key in ipairs(all) do
        if i ~= drive_index and not redis.call('ZSCORE', key, id) then ok = false; break end
      end
    end
    if ok and not listed then
      for _, key in ipairs(trigrams) do
        if redis.call('SISMEMBER', key, id) == 0 then ok = false; break end
      end
    end
    if ok and needle ~= '' then
      ok = string.find(string.lower(redis.call('HGET', m, 'c')), needle, 1, true) ~= nil
    end
    if ok then
      out[#out + 1] = redis.call('HGETALL', m)
      found = found + 1
      if found >= limit then more = 1; break end
    end
  end
end
out[1], out[2], out[3] = last, more, examined
return out
)lua";

// purge_expired, one batch of one namespace. ARGV: now batch. Returns how many were removed.
constexpr std::string_view kPurgeExpired = R"lua(
local ids = redis.call('ZRANGEBYSCORE', P .. 'mi:exp', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  if not unindex(id) then redis.call('ZREM', P .. 'mi:exp', id) end
end
return #ids
)lua";

// create_session and resume_or_create_session. ARGV: id created_by status created_at updated_at
// closed_at|'' resume(0|1) n_metadata (key value index-suffix)...
// resume=1: the newest active session holding every metadata pair is returned as {its id, 1} and
// nothing is written. Otherwise (or when none holds them) the session is created: {id, 0}; a taken
// id is MT_CONFLICT. Resume and create are one script, so concurrent callers cannot both create.
constexpr std::string_view kCreateSession = R"lua(
local id = ARGV[1]
local n = tonumber(ARGV[8])
if ARGV[7] == '1' then
  -- The smallest of the metadata zsets and the active zset drives a walk newest first; the other
  -- zsets are checked with ZSCORE. An empty one means nothing can match.
  local keys = {P .. 'si:st:active'}
  for i = 0, n - 1 do keys[#keys + 1] = P .. ARGV[11 + 3 * i] end
  local drive, cost = nil, nil
  for i, key in ipairs(keys) do
    local c = redis.call('ZCARD', key)
    if not cost or c < cost then drive, cost = i, c end
  end
  if cost > 0 then
    local next_id = lex_stream({keys[drive]}, '+', 32)
    for sid in next_id do
      local holds = true
      for i, key in ipairs(keys) do
        if i ~= drive and not redis.call('ZSCORE', key, sid) then holds = false; break end
      end
      if holds then return {sid, 1} end
    end
  end
end
local key = P .. 's:' .. id
if redis.call('EXISTS', key) == 1 then
  return redis.error_reply('MT_CONFLICT a session with id ' .. id .. ' exists already')
end
local fields = {'id', id, 'cb', ARGV[2], 'st', ARGV[3], 'ca', ARGV[4], 'ua', ARGV[5]}
if ARGV[6] ~= '' then fields[#fields + 1] = 'cl'; fields[#fields + 1] = ARGV[6] end
for i = 0, n - 1 do
  local k, v, index = ARGV[9 + 3 * i], ARGV[10 + 3 * i], ARGV[11 + 3 * i]
  fields[#fields + 1] = 'md:' .. k
  fields[#fields + 1] = v
  redis.call('ZADD', P .. index, 0, id)
end
redis.call('HSET', key, unpack(fields))
redis.call('ZADD', P .. 'si:all', 0, id)
redis.call('ZADD', P .. 'si:st:' .. ARGV[3], 0, id)
redis.call('ZADD', P .. 'si:a:' .. ARGV[2], 0, id)
redis.call('PUBLISH', P .. 'events', 's:' .. id)
return {id, 0}
)lua";

// close_session. ARGV: id at. 0: no such session; 1: closed now or already.
constexpr std::string_view kCloseSession = R"lua(
local id = ARGV[1]
local key = P .. 's:' .. id
local status = redis.call('HGET', key, 'st')
if not status then return 0 end
if status == 'closed' then return 1 end
redis.call('HSET', key, 'st', 'closed', 'cl', ARGV[2], 'ua', ARGV[2])
redis.call('ZREM', P .. 'si:st:active', id)
redis.call('ZADD', P .. 'si:st:closed', 0, id)
redis.call('PUBLISH', P .. 'events', 's:' .. id)
return 1
)lua";

// find_sessions, one bounded slice: the smallest of the status/agent/metadata zsets (or every
// session) drives a walk newest first by id; the others are checked with ZSCORE. Each match comes
// with its summary: participants, live memory count (by now), newest live memory's created_at.
// ARGV: now before limit budget status|'' n_all all-of-suffix...
// Returns {last examined id, more (0|1), examined, {session-fields, agents, count, last_activity}...}.
constexpr std::string_view kFindSessions = R"lua(
local now = ARGV[1]
local now_n = tonumber(now)
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local all = {}
for i = 1, tonumber(ARGV[6]) do all[i] = P .. ARGV[6 + i] end
if ARGV[5] ~= '' then all[#all + 1] = P .. 'si:st:' .. ARGV[5] end
local hi = before == '' and '+' or '(' .. before
local drive, cost, drive_index = nil, nil, 0
for i, key in ipairs(all) do
  local c = redis.call('ZLEXCOUNT', key, '-', hi)
  if c == 0 then return {before, 0, 0} end
  if not cost or c < cost then drive, cost, drive_index = key, c, i end
end
drive = drive or (P .. 'si:all')
local next_id = lex_stream({drive}, hi, math.min(budget, math.max(limit + 1, 32)))

local function summary(sid)
  local agents = redis.call('SMEMBERS', P .. 'sp:' .. sid)
  local count = redis.call('ZCARD', P .. 'mi:s:' .. sid)
  count = count - redis.call('ZCOUNT', P .. 'mi:se:' .. sid, '-inf', now)
  local last_activity = ''
  for _, id in ipairs(redis.call('ZREVRANGEBYLEX', P .. 'mi:s:' .. sid, '+', '-', 'LIMIT', 0, 64)) do
    local f = redis.call('HMGET', P .. 'm:' .. id, 'ca', 'ea')
    if f[1] and (not f[2] or tonumber(f[2]) > now_n) then last_activity = f[1]; break end
  end
  return agents, count, last_activity
end

local out = {before, 0, 0}
local last, examined, more, found = before, 0, 0, 0
while true do
  if examined >= budget then more = 1; break end
  local id = next_id()
  if not id then break end
  examined = examined + 1
  last = id
  local h = redis.call('HGETALL', P .. 's:' .. id)
  local ok = #h > 0
  if ok then
    for i, key in ipairs(all) do
      if i ~= drive_index and not redis.call('ZSCORE', key, id) then ok = false; break end
    end
  end
  if ok then
    local agents, count, last_activity = summary(id)
    out[#out + 1] = {h, agents, count, last_activity}
    found = found + 1
    if found >= limit then more = 1; break end
  end
end
out[1], out[2], out[3] = last, more, examined
return out
)lua";

// upsert_agent. ARGV: id description created_at. Returns the stored fields.
constexpr std::string_view kUpsertAgent = R"lua(
local key = P .. 'a:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', ARGV[1], 'd', ARGV[2], 'ca', ARGV[3])
elseif ARGV[2] ~= '' then
  redis.call('HSET', key, 'd', ARGV[2])
end
return redis.call('HGETALL', key)
)lua";

// put_api_key (KEYS[1] = the API key prefix). ARGV: id ns hash label created_at revoked_at|''.
constexpr std::string_view kPutApiKey = R"lua(
local id, hash = ARGV[1], ARGV[3]
if redis.call('EXISTS', P .. 'k:' .. id) == 1 or redis.call('EXISTS', P .. 'h:' .. hash) == 1 then
  return redis.error_reply('MT_CONFLICT an API key with this id or token exists already')
end
redis.call('HSET', P .. 'k:' .. id, 'id', id, 'ns', ARGV[2], 'h', hash, 'l', ARGV[4], 'ca', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', P .. 'k:' .. id, 'ra', ARGV[6]) end
redis.call('SET', P .. 'h:' .. hash, id)
redis.call('ZADD', P .. 'all', ARGV[5], id)
return 1
)lua";

// find_api_key_by_hash. ARGV: hash. The key's fields, or an empty array.
constexpr std::string_view kFindApiKey = R"lua(
local id = redis.call('GET', P .. 'h:' .. ARGV[1])
if not id then return {} end
return redis.call('HGETALL', P .. 'k:' .. id)
)lua";

// list_api_keys. ARGV: ns|'' (all). Arrays of fields, oldest first.
constexpr std::string_view kListApiKeys = R"lua(
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'all', 0, -1)) do
  local key = P .. 'k:' .. id
  if ARGV[1] == '' or redis.call('HGET', key, 'ns') == ARGV[1] then
    local h = redis.call('HGETALL', key)
    if #h > 0 then out[#out + 1] = h end
  end
end
return out
)lua";

// revoke_api_key. ARGV: id at. 0: no such key; 1: revoked now or before (the first time stays).
constexpr std::string_view kRevokeApiKey = R"lua(
local key = P .. 'k:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSETNX', key, 'ra', ARGV[2])
return 1
)lua";

std::string with_prelude(std::string_view body) {
  return std::string(kPrelude) + std::string(body);
}

}  // namespace

std::string store_prelude() {
  return std::string(kPrelude);
}

std::string remember_function() {
  return "local function remember()\n" + std::string(kRemember) + "\nend\n";
}

Scripts::Scripts()
    : remember("remember", with_prelude(kRemember)),
      forget("forget", with_prelude(kForget)),
      get_memory("get_memory", with_prelude(kGetMemory)),
      query_memories("query_memories", with_prelude(kQueryMemories)),
      purge_expired("purge_expired", with_prelude(kPurgeExpired)),
      create_session("create_session", with_prelude(kCreateSession)),
      close_session("close_session", with_prelude(kCloseSession)),
      find_sessions("find_sessions", with_prelude(kFindSessions)),
      upsert_agent("upsert_agent", with_prelude(kUpsertAgent)),
      put_api_key("put_api_key", with_prelude(kPutApiKey)),
      find_api_key("find_api_key", with_prelude(kFindApiKey)),
      list_api_keys("list_api_keys", with_prelude(kListApiKeys)),
      revoke_api_key("revoke_api_key", with_prelude(kRevokeApiKey)) {}

Result<std::string> Script::load(Connection& connection) {
  auto reply = connection.command({"SCRIPT", "LOAD", source_});
  if (!reply) return tl::unexpected(reply.error());
  std::string sha(reply_string(reply->get()));
  if (sha.empty()) return fail(ErrorCode::kInternal, "SCRIPT LOAD of " + name_ + " returned no digest");
  std::lock_guard lock(mutex_);
  sha_ = sha;
  return sha;
}

Result<ReplyPtr> Script::run(Connection& connection, const std::string& prefix,
                             const std::vector<std::string>& args) {
  std::string sha;
  {
    std::lock_guard lock(mutex_);
    sha = sha_;
  }
  if (sha.empty()) {
    auto loaded = load(connection);
    if (!loaded) return tl::unexpected(loaded.error());
    sha = *loaded;
  }
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string_view> argv = {"EVALSHA", sha, "1", prefix};
    argv.reserve(args.size() + 4);
    for (const auto& arg : args) argv.push_back(arg);
    std::string raw_error;
    auto reply = connection.command(argv, &raw_error);
    if (reply || attempt > 0 || raw_error.rfind("NOSCRIPT", 0) != 0) return reply;
    // Redis restarted or flushed its script cache since we loaded it: load it again, once.
    auto loaded = load(connection);
    if (!loaded) return tl::unexpected(loaded.error());
    sha = *loaded;
  }
}

}  // namespace memtrace::redis
