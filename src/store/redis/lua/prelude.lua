
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

-- A memory is one string, m:<id> (redis_keys.h says why): struct '>Bdddd' flags created_at importance
-- expires_at valid_until, then nine strings, each a 4-byte length and its bytes, in this order:
-- superseded_by type agent content session id tags metadata reasoning. flags: 1 expires_at, 2 reasoning,
-- 4 superseded_by and valid_until (an absent one is stored as 0 or ''). The fields filters need come
-- first, so a script unpacks only as far as it looks (mem_head, mem_content).
local MEM_NUMBERS = '>Bdddd'
local function mem_strings(n) return MEM_NUMBERS .. string.rep('I4c0', n) end
local MEM_FMT = mem_strings(9)
local MEM_HEAD = mem_strings(3) .. 'I4'  -- up to the agent, then the content's length
local MEM_TO_CONTENT = mem_strings(4)

-- Encodes memory fields (a table keyed as the hash of older versions was: id s a t c g i ca md ea r sb vu;
-- numbers may be text) as a memory string.
local function mem_encode(f)
  local ea, vu = tonumber(f.ea), tonumber(f.vu) or 0
  local flags = (ea and 1 or 0) + (f.r and 2 or 0) + (f.sb and 4 or 0)
  local sb, t, a, c, s, id = f.sb or '', f.t or '', f.a or '', f.c or '', f.s or '', f.id or ''
  local g, md, r = f.g or '', f.md or '', f.r or ''
  return struct.pack(MEM_FMT, flags, tonumber(f.ca) or 0, tonumber(f.i) or 0, ea or 0, vu,
                     #sb, sb, #t, t, #a, a, #c, c, #s, s, #id, id, #g, g, #md, md, #r, r)
end

-- Every field of a memory string, keyed as mem_encode takes them (numbers as numbers).
local function mem_decode(b)
  local flags, ca, imp, ea, vu, sb, t, a, c, s, id, g, md, r = struct.unpack(MEM_FMT, b)
  local f = {id = id, s = s, a = a, t = t, c = c, g = g, i = imp, ca = ca, md = md}
  if flags % 2 == 1 then f.ea = ea end
  if math.floor(flags / 2) % 2 == 1 then f.r = r end
  if flags >= 4 then f.sb, f.vu = sb, vu end
  return f
end

-- What filters read, without the strings after them: created_at importance expires_at|nil
-- superseded_by|nil type agent, and the content's length.
local function mem_head(b)
  local flags, ca, imp, ea, _, sb, t, a, clen = struct.unpack(MEM_HEAD, b)
  return ca, imp, (flags % 2 == 1) and ea or nil, flags >= 4 and sb or nil, t, a, clen
end

-- The content of a memory string.
local function mem_content(b)
  local _, _, _, _, _, _, _, _, c = struct.unpack(MEM_TO_CONTENT, b)
  return c
end

-- GET of `key`, or nil if it holds a hash (an older version's record): any other error is raised.
local function get_unless_hash(key)
  local value = redis.pcall('GET', key)
  if type(value) == 'table' then
    if not string.find(value.err or '', 'WRONGTYPE', 1, true) then error(value) end
    return nil
  end
  return value
end

-- Reads memory `id`'s string: false if there is none. A memory an older version stored as a hash is
-- rewritten as a string first (SET replaces the hash; KEEPTTL keeps its expiry), so every script meets
-- one format.
local function mem_read(id)
  local key = P .. 'm:' .. id
  local b = get_unless_hash(key)
  if b ~= nil then return b end
  local h = redis.call('HGETALL', key)
  local f = {}
  for i = 1, #h, 2 do f[h[i]] = h[i + 1] end
  b = mem_encode(f)
  redis.call('SET', key, b, 'KEEPTTL')
  return b
end

-- Stores the fields `f` (as mem_decode gives them) as memory `id`, keeping the key's expiry.
local function mem_write(id, f)
  redis.call('SET', P .. 'm:' .. id, mem_encode(f), 'KEEPTTL')
end

-- A memory's unindex record, mx:<id>, is one string too: struct '>I4c0I4c0I4c0I4c0I4c0', the session,
-- agent, type, tags (encoded) and trigrams (3 bytes each) it was indexed under.
local MX_FMT = '>I4c0I4c0I4c0I4c0I4c0'

local function mx_write(id, sid, agent, typ, tags, tri)
  redis.call('SET', P .. 'mx:' .. id, struct.pack(MX_FMT, #sid, sid, #agent, agent, #typ, typ, #tags, tags, #tri, tri))
end

-- Memory `id`'s unindex record: session agent type tags trigrams, or nil if it has none. One an older
-- version stored as a hash is rewritten as a string first.
local function mx_read(id)
  local x = get_unless_hash(P .. 'mx:' .. id)
  if x == nil then
    local h = redis.call('HMGET', P .. 'mx:' .. id, 's', 'a', 't', 'g', '3')
    if not h[1] then return nil end
    mx_write(id, h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '')
    return h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or ''
  end
  if not x then return nil end
  local sid, agent, typ, tags, tri = struct.unpack(MX_FMT, x)
  return sid, agent, typ, tags, tri
end

-- Removes a memory and every index entry naming it, guided by its mx record (which has no TTL, so
-- this works after Redis expired the memory itself). Returns the session id, or nil if there
-- was no index record.
local function unindex(id)
  local sid, agent, typ, tags, tri = mx_read(id)
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
  redis.call('ZREM', P .. 'mi:ss:' .. sid, id)
  redis.call('ZREM', P .. 'mi:a:' .. agent, id)
  redis.call('ZREM', P .. 'mi:t:' .. typ, id)
  for _, tag in ipairs(decode_list(tags)) do redis.call('ZREM', P .. 'mi:g:' .. tag, id) end
  -- Its trigram set entries: all of them, unless it is still pending (index_content): then those a
  -- step added before it stopped half way, if any (its score is minus their number).
  local indexed = #tri / 3
  local added = redis.call('ZSCORE', P .. 'mi:pend', id)
  if added then
    redis.call('ZREM', P .. 'mi:pend', id)
    indexed = -tonumber(added)
  end
  for k = 0, indexed - 1 do redis.call('SREM', P .. 'mi:3:' .. string.sub(tri, 3 * k + 1, 3 * k + 3), id) end
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

-- The durable change feed (Store::read_changes): one entry of the stream P..'feed' per change, added by
-- the script that makes the change. The entry id's milliseconds are the change's time (`at`, the
-- caller's clock) or, if an earlier entry has a later time, that time (P..'feed:top'), so ids always
-- grow and follow the order in which changes took effect, whatever the clocks of the writers.
-- Fields: k kind, at time, a agent, s session, x subject (memory, session or task id).
local function feed(kind, at, agent, session, subject)
  local top = P .. 'feed:top'
  local ms = math.max(tonumber(at), tonumber(redis.call('GET', top) or '0'))
  local text = string.format('%.0f', ms)
  redis.call('SET', top, text)
  redis.call('XADD', P .. 'feed', text .. '-*', 'k', kind, 'at', tostring(at), 'a', agent, 's', session,
             'x', subject)
end

-- memory.superseded for the write that supersedes memory `id`, by `agent` in `session` at `at`.
local function feed_superseded(id, agent, session, at)
  feed('memory.superseded', at, agent, session, id)
end

-- Records memory `id` of session `sid` as superseded, for live counts (mi:ss: by its expiry, if any).
local function index_superseded(id, sid, ea)
  redis.call('ZADD', P .. 'mi:ss:' .. sid, (ea and ea ~= '') and ea or '+inf', id)
end

-- How many memories session `sid` holds that are unexpired at `now` (superseded ones included).
local function live_memories(sid, now)
  return redis.call('ZCARD', P .. 'mi:s:' .. sid) - redis.call('ZCOUNT', P .. 'mi:se:' .. sid, '-inf', now)
end

-- What a session summary holds beyond its hash: the agents that wrote into it, its live memories
-- (live_memories) and the newest one's created_at ('' if none).
local function session_summary(sid, now)
  local agents = redis.call('SMEMBERS', P .. 'sp:' .. sid)
  local count = live_memories(sid, now)
  local last_activity = ''
  local now_n = tonumber(now)
  for _, id in ipairs(redis.call('ZREVRANGEBYLEX', P .. 'mi:s:' .. sid, '+', '-', 'LIMIT', 0, 64)) do
    local b = mem_read(id)
    if b then
      local ca, _, ea = mem_head(b)
      if not ea or ea > now_n then last_activity = string.format('%.0f', ca); break end
    end
  end
  return agents, count, last_activity
end

-- Why session `sid` takes no memory (an error reply), or nil if it exists and is open.
local function session_refusal(sid)
  local status = redis.call('HGET', P .. 's:' .. sid, 'st')
  if not status then
    return redis.error_reply('MT_NOT_FOUND there is no session ' .. sid .. ' to write into')
  end
  if status == 'closed' then
    return redis.error_reply('MT_INVALID session ' .. sid .. ' is closed and takes no new memories')
  end
  return nil
end
