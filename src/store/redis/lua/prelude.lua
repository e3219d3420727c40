-- The store's helpers. A script carries only those it uses (redis_script_linker.h): a line that starts
-- with "local " in the first column begins a definition, so nothing but a top-level one may start there.
local P = KEYS[1]

-- Ids must compare bytewise, like lex ranges do. Lua's < on strings uses strcoll, i.e. the server's
-- LC_COLLATE: bytewise under C, POSIX and C.UTF-8 (code point order), but not under a language locale
-- (there 'a' < 'B'). The probe picks the fast native < when it agrees with bytes, else a byte loop.
local less
local native_less = 'B' < 'a' and 'Z' < '_' and '_' < 'a' and '9' < 'A' and not ('a' < 'B')
if native_less then
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

-- A memory is one string, m:<id> (redis_keys.h says why), in one of two forms:
-- - long: struct '>Bdddd' flags created_at importance expires_at valid_until, then nine strings, each a
--   4-byte length and its bytes, in this order: superseded_by type agent content session id tags
--   metadata reasoning;
-- - short (flag 16), when each of the nine strings is under 256 bytes: '>Bdd' flags created_at importance,
--   then expires_at ('>d') only with flag 1, then the nine strings, each a 1-byte length and its bytes,
--   then valid_until ('>d') only with flag 4. At a million memories of 8 words of pseudo-English that is
--   219 bytes on average where the long form took 262, and 325 bytes of Redis memory with the key where
--   it took 408 (the allocator's size classes).
-- flags: 1 expires_at, 2 reasoning, 4 superseded_by and valid_until (an absent one is stored as 0 or ''
-- in the long form), 8 the memory's number in the content index follows, at the very end ('>I4';
-- index_content adds it to a memory that has no mx record), 16 short. The fields filters need come
-- first, so a script unpacks only as far as it looks (mem_head, mem_head_content). The formats are
-- literals: a script builds them at no cost.
local MEM_LONG = '>BddddI4c0I4c0I4c0I4c0I4c0I4c0I4c0I4c0I4c0'
local MEM_LONG_HEAD = '>BddddI4c0I4c0I4c0I4'  -- up to the agent, then the content's length
local MEM_LONG_TO_CONTENT = '>BddddI4c0I4c0I4c0I4c0'
local MEM_SHORT_ALL = '>BddBc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0'
local MEM_SHORT_ALL_EXPIRING = '>BdddBc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0'
local MEM_SHORT_HEAD, MEM_SHORT_HEAD_EXPIRING = '>BddBc0Bc0Bc0B', '>BdddBc0Bc0Bc0B'
local MEM_SHORT_TO_CONTENT, MEM_SHORT_TO_CONTENT_EXPIRING = '>BddBc0Bc0Bc0Bc0', '>BdddBc0Bc0Bc0Bc0'
local MEM_NUMBERED, MEM_SHORT = 8, 16
-- Whether bit `bit` (a power of two) is set in `flags`.
local function has_flag(flags, bit) return math.floor(flags / bit) % 2 == 1 end

-- Encodes memory fields (a table keyed as the hash of older versions was: id s a t c g i ca md ea r sb vu,
-- and n, its number; numbers may be text) as a memory string, short when it can be.
local function mem_encode(f)
  local ea, vu = tonumber(f.ea), tonumber(f.vu) or 0
  local sb, t, a, c, s, id = f.sb or '', f.t or '', f.a or '', f.c or '', f.s or '', f.id or ''
  local g, md, r = f.g or '', f.md or '', f.r or ''
  local flags = (ea and 1 or 0) + (f.r and 2 or 0) + (f.sb and 4 or 0) + (f.n and MEM_NUMBERED or 0)
  local b
  if math.max(#sb, #t, #a, #c, #s, #id, #g, #md, #r) < 256 then
    flags = flags + MEM_SHORT
    local head = ea and struct.pack('>Bddd', flags, tonumber(f.ca) or 0, tonumber(f.i) or 0, ea)
                    or struct.pack('>Bdd', flags, tonumber(f.ca) or 0, tonumber(f.i) or 0)
    b = head .. struct.pack('>Bc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0Bc0', #sb, sb, #t, t, #a, a, #c, c, #s, s, #id, id,
                            #g, g, #md, md, #r, r)
    if f.sb then b = b .. struct.pack('>d', vu) end
  else
    b = struct.pack(MEM_LONG, flags, tonumber(f.ca) or 0, tonumber(f.i) or 0, ea or 0, vu,
                    #sb, sb, #t, t, #a, a, #c, c, #s, s, #id, id, #g, g, #md, md, #r, r)
  end
  if f.n then b = b .. struct.pack('>I4', f.n) end
  return b
end

-- Every field of a memory string, keyed as mem_encode takes them (numbers as numbers).
local function mem_decode(b)
  local flags = string.byte(b, 1)
  local ca, imp, ea, vu, sb, t, a, c, s, id, g, md, r, at
  if flags < MEM_SHORT then
    flags, ca, imp, ea, vu, sb, t, a, c, s, id, g, md, r, at = struct.unpack(MEM_LONG, b)
  else
    if has_flag(flags, 1) then
      flags, ca, imp, ea, sb, t, a, c, s, id, g, md, r, at = struct.unpack(MEM_SHORT_ALL_EXPIRING, b)
    else
      flags, ca, imp, sb, t, a, c, s, id, g, md, r, at = struct.unpack(MEM_SHORT_ALL, b)
    end
    if has_flag(flags, 4) then vu, at = struct.unpack('>d', b, at) end
  end
  local f = {id = id, s = s, a = a, t = t, c = c, g = g, i = imp, ca = ca, md = md}
  if has_flag(flags, 1) then f.ea = ea end
  if has_flag(flags, 2) then f.r = r end
  if has_flag(flags, 4) then f.sb, f.vu = sb, vu end
  if has_flag(flags, MEM_NUMBERED) then f.n = struct.unpack('>I4', b, at) end
  return f
end

-- A memory string's leading fields in whichever form it has, read with that form's format of the three
-- given (each up to the agent, then one more item): created_at importance expires_at|nil
-- superseded_by|nil type agent, and that item.
local function mem_unpack_head(b, long, short, short_expiring)
  local flags = string.byte(b, 1)
  local ca, imp, ea, sb, t, a, last, _
  if flags < MEM_SHORT then
    flags, ca, imp, ea, _, sb, t, a, last = struct.unpack(long, b)
  elseif flags % 2 == 1 then
    flags, ca, imp, ea, sb, t, a, last = struct.unpack(short_expiring, b)
  else
    flags, ca, imp, sb, t, a, last = struct.unpack(short, b)
  end
  return ca, imp, has_flag(flags, 1) and ea or nil, has_flag(flags, 4) and sb or nil, t, a, last
end

-- What filters read, without the strings after them: created_at importance expires_at|nil
-- superseded_by|nil type agent, and the content's length.
local function mem_head(b)
  return mem_unpack_head(b, MEM_LONG_HEAD, MEM_SHORT_HEAD, MEM_SHORT_HEAD_EXPIRING)
end

-- mem_head and the content, in one unpacking: created_at importance expires_at|nil superseded_by|nil
-- type content.
local function mem_head_content(b)
  local ca, imp, ea, sb, t, _, c =
      mem_unpack_head(b, MEM_LONG_TO_CONTENT, MEM_SHORT_TO_CONTENT, MEM_SHORT_TO_CONTENT_EXPIRING)
  return ca, imp, ea, sb, t, c
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

-- The strings of memories `ids` (false where there is none), in one MGET. One an older version kept as a
-- hash, which MGET answers as none, is read (and rewritten) by mem_read.
local function mem_read_many(ids)
  local keys = {}
  for i, id in ipairs(ids) do keys[i] = P .. 'm:' .. id end
  local got = redis.call('MGET', unpack(keys))
  for i = 1, #ids do
    if not got[i] then got[i] = mem_read(ids[i]) end
  end
  return got
end

-- Adds `number` to memory `id`'s string `b` (one without it): its flag, and the number at the end. The
-- string is written anew rather than appended to: an APPEND leaves the value room to grow into (Redis
-- doubles a string's allocation when it grows), which for a memory, that never grows again, was more
-- than the memory itself (728 bytes held for 271 stored).
local function mem_set_number(id, b, number)
  redis.call('SET', P .. 'm:' .. id,
             string.char(string.byte(b, 1) + MEM_NUMBERED) .. string.sub(b, 2) .. struct.pack('>I4', number),
             'KEEPTTL')
end

-- Stores the fields `f` (as mem_decode gives them) as memory `id`, keeping the key's expiry.
local function mem_write(id, f)
  redis.call('SET', P .. 'm:' .. id, mem_encode(f), 'KEEPTTL')
end

-- A memory's unindex record, mx:<id>, is one string too: struct '>I4c0I4c0I4c0I4c0I4c0', the session,
-- agent, type, tags (encoded) and trigrams (3 bytes each, until index_content has added them all to
-- their postings), then, once index_content has numbered the memory, its number ('>I4'). Only a memory
-- with an expiry has one (Redis may delete its string before its index entries go); other memories are
-- unindexed by their string, which then holds their number. Builds before wrote one for every memory,
-- with its trigrams: those are still read.
local MX_FMT = '>I4c0I4c0I4c0I4c0I4c0'

local function mx_write(id, sid, agent, typ, tags, tri, number)
  local x = struct.pack(MX_FMT, #sid, sid, #agent, agent, #typ, typ, #tags, tags, #tri, tri)
  if number then x = x .. struct.pack('>I4', number) end
  redis.call('SET', P .. 'mx:' .. id, x)
end

-- Memory `id`'s unindex record: session agent type tags trigrams number|nil, or nil if it has none. One
-- an older version stored as a hash is rewritten as a string first.
local function mx_read(id)
  local x = get_unless_hash(P .. 'mx:' .. id)
  if x == nil then
    local h = redis.call('HMGET', P .. 'mx:' .. id, 's', 'a', 't', 'g', '3')
    if not h[1] then return nil end
    mx_write(id, h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or '')
    return h[1], h[2] or '', h[3] or '', h[4] or '', h[5] or ''
  end
  if not x then return nil end
  local sid, agent, typ, tags, tri, at = struct.unpack(MX_FMT, x)
  local number = nil
  if at <= #x then number = struct.unpack('>I4', x, at) end
  return sid, agent, typ, tags, tri, number
end

-- The content index (see redis_keys.h): memory numbers in postings, one string of 4-byte big-endian
-- numbers per trigram, ascending. A number's id is in the hash mi:ids, and its bit in mi:live is set
-- while it lives. Forgetting a memory only clears those two and counts it in mi:dead; its postings
-- entries go at the next sweep (sweep_postings).
local byte = string.byte
-- Numbers per field of mi:pmax (index_content writes it, query_memories reads it).
local PMAX_NUMBERS = 32
-- A tag's posting is mi:4:tag:<tag>, and mi:4k names it 'tag:<tag>': never 3 bytes long, so no trigram
-- shares its key, and the sweep rewrites both kinds alike.
local TAG_POSTING = 'tag:'
-- In layout 2 (namespace_layout), an agent's, a type's and a session's postings too: mi:4:agent:<agent>,
-- mi:4:type:<type>, mi:4:session:<session>; and one per band of importance, mi:4:imp:<band>
-- (importance_band).
local AGENT_POSTING, TYPE_POSTING, IMPORTANCE_POSTING = 'agent:', 'type:', 'imp:'
local SESSION_POSTING = 'session:'

-- The band of importance `imp` (0 to 1): 0 to 20, a twentieth each. Memories with an importance of at
-- least m are in the bands from importance_band(m) up, since x >= m gives x * 20 >= m * 20 in floating
-- point too.
local function importance_band(imp)
  return math.max(0, math.min(20, math.floor(imp * 20)))
end

-- The namespace's key layout, 1 or 2 (redis_keys.h), as mi:v keeps it. Layout 2 keeps a memory's session,
-- agent, type, tags and band of importance as 4-byte entries of postings, given at its remember
-- (give_number), where layout 1 keeps sorted sets of ids (mi:s:, mi:a:, mi:t:, mi:g:, mi:imp) at about 118
-- bytes an entry. A namespace's first memory fixes
-- it: `new` (the server's choice, '1' or '2'), unless memories are there already, which a build before
-- layouts wrote into the sets only (then 1). Called with `new` nil (a script that writes no memory), a
-- namespace without a memory reads as layout 1, which finds nothing in it as well as 2 would.
local function namespace_layout(new)
  local layout = redis.call('GET', P .. 'mi:v')
  if not layout and new then
    local fresh = redis.call('EXISTS', P .. 'mi:all', P .. 'mi:n', P .. 'mi:pend') == 0
    layout = (new == '2' and fresh) and '2' or '1'
    redis.call('SET', P .. 'mi:v', layout)
  end
  return layout == '2' and 2 or 1
end

-- Gives memory `id` the next number of the content index (mi:n): its bit in mi:live, its id in mi:ids, and
-- for its run of PMAX_NUMBERS the largest id numbered so far in mi:pmax. `max_id` is that id before it (as
-- mi:maxid keeps it; the caller writes it back): returns the number and the new largest id. The postings of
-- its tags (an encoded list) take the number at once, and with `members` (layout 2: {agent, type,
-- importance, session}) its agent's, type's, importance band's and session's too; a new posting is
-- registered with the sweep (mi:4k).
local function give_number(id, max_id, tags, members)
  local number = redis.call('INCR', P .. 'mi:n')
  redis.call('SETBIT', P .. 'mi:live', number, 1)
  redis.call('HSET', P .. 'mi:ids', number, id)
  if not max_id or less(max_id, id) then max_id = id end
  redis.call('HSET', P .. 'mi:pmax', math.floor(number / PMAX_NUMBERS), max_id)
  local entry = struct.pack('>I4', number)
  local names, seen = {}, {}
  for _, tag in ipairs(decode_list(tags)) do
    if not seen[tag] then
      seen[tag] = true
      names[#names + 1] = TAG_POSTING .. tag
    end
  end
  if members then
    names[#names + 1] = AGENT_POSTING .. members[1]
    names[#names + 1] = TYPE_POSTING .. members[2]
    names[#names + 1] = IMPORTANCE_POSTING .. importance_band(tonumber(members[3]))
    names[#names + 1] = SESSION_POSTING .. members[4]
  end
  for _, name in ipairs(names) do
    if redis.call('APPEND', P .. 'mi:4:' .. name, entry) == 4 then redis.call('ZADD', P .. 'mi:4k', 0, name) end
  end
  return number, max_id
end

-- The number at 0-based entry `i` of posting `s` (string.byte and arithmetic: a third of the time of
-- struct.unpack).
local function posting_entry(s, i)
  local a, b, c, d = byte(s, 4 * i + 1, 4 * i + 4)
  return a * 16777216 + b * 65536 + c * 256 + d
end

-- Appends to `ids` the ids of `numbers` (mi:ids), a thousand numbers a call; a forgotten number has none.
-- Returns `ids`.
local function number_ids(numbers, ids)
  for from = 1, #numbers, 1000 do
    local got = redis.call('HMGET', P .. 'mi:ids', unpack(numbers, from, math.min(from + 999, #numbers)))
    for _, id in ipairs(got) do
      if id then ids[#ids + 1] = id end
    end
  end
  return ids
end

-- What memory `id` is indexed by: session agent type tags trigrams number|nil in_mx string|nil
-- content|nil, from its mx record if it has one (in_mx true; trigrams only in an older build's record),
-- else from its string (then the string and its content are returned too; trigrams ''). Nil if it has
-- neither.
local function index_record(id)
  local sid, agent, typ, tags, tri, number = mx_read(id)
  if sid then return sid, agent, typ, tags, tri, number, true, nil, nil end
  local b = mem_read(id)
  if not b then return nil end
  local f = mem_decode(b)
  return f.s, f.a, f.t, f.g, '', f.n, false, b, f.c
end

-- Removes a memory and every index entry naming it, guided by its mx record (which has no TTL, so
-- this works after Redis expired the memory itself) or, for a memory without one, its string. Returns
-- the session id, or nil if there was neither.
local function unindex(id)
  local sid, agent, typ, tags, tri, number = index_record(id)
  if not sid then
    redis.call('DEL', P .. 'm:' .. id, P .. 'mx:' .. id)
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
  local added = redis.call('ZSCORE', P .. 'mi:pend', id)
  if added then
    redis.call('ZREM', P .. 'mi:pend', id)
    redis.call('HDEL', P .. 'mi:half', id)
  end
  if number then
    redis.call('SETBIT', P .. 'mi:live', number, 0)
    redis.call('HDEL', P .. 'mi:ids', number)
    redis.call('INCR', P .. 'mi:dead')
  else
    -- Indexed by an older version, into trigram sets (mi:3:<trigram>): all of its trigrams, unless it
    -- was still pending there (then those a step added before it stopped half way: minus its score).
    local indexed = added and -tonumber(added) or #tri / 3
    for k = 0, indexed - 1 do redis.call('SREM', P .. 'mi:3:' .. string.sub(tri, 3 * k + 1, 3 * k + 3), id) end
  end
  redis.call('DEL', P .. 'm:' .. id, P .. 'mx:' .. id)
  return sid
end

-- One bounded step of the sweep that rewrites the postings without the numbers of forgotten memories.
-- A sweep starts once the forgotten numbered memories (mi:dead) are at least half as many as the live
-- ones, so postings are never more than about a third dead entries, and a sweep's cost, which is the
-- size of all postings, is spread over as many forgets. It walks the postings named in mi:4k (trigrams
-- and tags) in order; a posting longer than the step's `budget` of entries is rewritten into mi:4t over
-- several steps (appends made meanwhile land at the end of the original and are copied with the rest),
-- then renamed over it. State in mi:4s: at (the posting being swept, or the last one done), off (its
-- entries copied so far), dead (mi:dead when the sweep started). True while the sweep has more to do.
local function sweep_postings(budget)
  local state = P .. 'mi:4s'
  local st = redis.call('HMGET', state, 'at', 'off', 'dead')
  local at, off, swept = st[1], tonumber(st[2]), st[3]
  if not at then
    local dead = tonumber(redis.call('GET', P .. 'mi:dead') or '0')
    if dead == 0 or dead * 2 < redis.call('ZCARD', P .. 'mi:all') then return false end
    at, off, swept = '', 0, dead
    redis.call('HSET', state, 'at', at, 'off', off, 'dead', dead)
  end
  local live_key, tmp = P .. 'mi:live', P .. 'mi:4t'
  while budget > 0 do
    if off == 0 then
      local nxt = redis.call('ZRANGEBYLEX', P .. 'mi:4k', at == '' and '-' or '(' .. at, '+', 'LIMIT', 0, 1)[1]
      if not nxt then
        redis.call('DEL', state, tmp)
        local dead_left = redis.call('DECRBY', P .. 'mi:dead', swept)
        if dead_left <= 0 then redis.call('DEL', P .. 'mi:dead') end
        if dead_left <= 0 and redis.call('ZCARD', P .. 'mi:all') == 0 then
          -- No memory left, and no number of a forgotten one in any posting (one forgotten during the sweep
          -- may still be in those it had passed): numbering starts again. A posting vouches for a number's
          -- tags, agent and type in layout 2, so no number may be given twice while one still names it.
          redis.call('DEL', P .. 'mi:n', live_key, P .. 'mi:pmax', P .. 'mi:maxid', P .. 'mi:4g', P .. 'mi:tt')
        end
        return false
      end
      at = nxt
      redis.call('DEL', tmp)
    end
    local key = P .. 'mi:4:' .. at
    local total = redis.call('STRLEN', key) / 4
    local upto = math.min(total, off + budget)
    if upto > off then
      local chunk = redis.call('GETRANGE', key, off * 4, upto * 4 - 1)
      local count = #chunk / 4
      local lo = math.floor(posting_entry(chunk, 0) / 8)
      local bits = redis.call('GETRANGE', live_key, lo, math.floor(posting_entry(chunk, count - 1) / 8))
      local kept = {}
      for i = 0, count - 1 do
        local n = posting_entry(chunk, i)
        local flags = byte(bits, math.floor(n / 8) - lo + 1) or 0
        -- SETBIT numbers bits from the most significant bit of each byte.
        if math.floor(flags / 2 ^ (7 - n % 8)) % 2 == 1 then kept[#kept + 1] = string.sub(chunk, 4 * i + 1, 4 * i + 4) end
      end
      if #kept > 0 then redis.call('APPEND', tmp, table.concat(kept)) end
      budget = budget - (upto - off)
      off = upto
    end
    if off >= total then
      if redis.call('EXISTS', tmp) == 1 then
        redis.call('RENAME', tmp, key)
      else
        redis.call('DEL', key)
        redis.call('ZREM', P .. 'mi:4k', at)
      end
      off = 0
    end
  end
  redis.call('HSET', state, 'at', at, 'off', off)
  return true
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

-- Sorts a list of ids (or other strings) ascending, bytewise: with table.sort's own comparison (in C, a third of the time of a Lua
-- comparator's) when the server's collation is bytewise.
local function sort_ids(ids)
  if native_less then table.sort(ids) else table.sort(ids, less) end
end

-- The distinct 3-byte trigrams of lower-cased `content`, concatenated: what index_content adds to the
-- postings, in this order. Sorted bytewise when there are more than `unsorted_up_to` of them: a memory
-- too large for what is left of a step is split across steps, and resumes at the same place whatever
-- the step (and whichever version began it: older ones sorted them all). One that fits is added whole,
-- in any order, and sorting its trigrams took a sixth of a step's time. string.lower folds exactly ASCII
-- in the C locale Redis runs Lua in, as content_contains folds the needle.
local function content_trigrams(content, unsorted_up_to)
  local folded, seen, list = string.lower(content), {}, {}
  for i = 1, #folded - 2 do
    local trigram = string.sub(folded, i, i + 2)
    if not seen[trigram] then
      seen[trigram] = true
      list[#list + 1] = trigram
    end
  end
  if #list > unsorted_up_to then sort_ids(list) end
  return table.concat(list)
end

-- What an id made at `ms` begins with: IdGenerator's ids are ULIDs, whose first 10 characters are the
-- millisecond in Crockford base32, fixed width, so ids made in a window of time are one lex range. nil for
-- a time a ULID cannot hold.
local CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
local function id_time_prefix(ms)
  ms = tonumber(ms)
  if not ms or ms < 0 or ms >= 2 ^ 48 or ms ~= math.floor(ms) then return nil end
  local out = {}
  for i = 10, 1, -1 do
    local d = ms % 32
    out[i] = string.sub(CROCKFORD, d + 1, d + 1)
    ms = (ms - d) / 32
  end
  return table.concat(out)
end

-- The value of each byte that is a digit of an id's time, by byte: a literal, so that a script that checks
-- one id (remember) fills no table in a loop first.
local CROCKFORD_VALUE = {[48] = 0, [49] = 1, [50] = 2, [51] = 3, [52] = 4, [53] = 5, [54] = 6,
  [55] = 7, [56] = 8, [57] = 9, [65] = 10, [66] = 11, [67] = 12, [68] = 13, [69] = 14, [70] = 15,
  [71] = 16, [72] = 17, [74] = 18, [75] = 19, [77] = 20, [78] = 21, [80] = 22, [81] = 23, [82] = 24,
  [83] = 25, [84] = 26, [86] = 27, [87] = 28, [88] = 29, [89] = 30, [90] = 31}

-- Whether `id` says it was made at `ms` (created_at): true of every id a server made, unless its clock
-- was set back meanwhile (IdGenerator then keeps its last millisecond); not of an id imported from
-- elsewhere. mi:time holds only the memories for which this is false (remember). About 0.5 µs.
local function id_made_at(id, ms)
  if #id ~= 26 then return false end
  -- A byte that is no digit (lower case too: it sorts apart) counts so much that the time is none a
  -- ULID holds.
  local v, x = CROCKFORD_VALUE, 2 ^ 60
  local a, b, c, d, e, f, g, h, i, j = string.byte(id, 1, 10)
  local t = (((((v[a] or x) * 32 + (v[b] or x)) * 32 + (v[c] or x)) * 32 + (v[d] or x)) * 32 + (v[e] or x))
  t = ((((t * 32 + (v[f] or x)) * 32 + (v[g] or x)) * 32 + (v[h] or x)) * 32 + (v[i] or x)) * 32 + (v[j] or x)
  return t == tonumber(ms)
end

-- A build before mi:time held only those put every memory in it. They are taken out `budget` entries a
-- step (index_content, after the sweep; about 2 µs of Redis time an entry, most of it reading it into
-- Lua), walking mi:time by rank: the state mi:tt is the rank reached (every entry before it is one to
-- keep), or 'done' (no state if mi:time holds none to keep). True while there is more to do. Searches
-- are right at every point of the walk: they read mi:time and mi:all's range together (query_memories).
local function trim_time_index(budget)
  local state = P .. 'mi:tt'
  local at = redis.call('GET', state)
  if at == 'done' then return false end
  local pos = tonumber(at or '0') or 0
  local page = redis.call('ZRANGE', P .. 'mi:time', pos, pos + budget - 1, 'WITHSCORES')
  local drop = {}
  for i = 1, #page, 2 do
    if id_made_at(page[i], page[i + 1]) then drop[#drop + 1] = page[i] end
  end
  for from = 1, #drop, 1000 do
    redis.call('ZREM', P .. 'mi:time', unpack(drop, from, math.min(from + 999, #drop)))
  end
  local kept = pos + #page / 2 - #drop
  if #page / 2 < budget then
    if kept == 0 then redis.call('DEL', state) else redis.call('SET', state, 'done') end
    return false
  end
  redis.call('SET', state, kept)
  return true
end

-- Appends to list `ids` those of `more` it does not hold yet.
local function append_new(ids, more)
  local seen = {}
  for _, id in ipairs(ids) do seen[id] = true end
  for _, id in ipairs(more) do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
end

-- `ids` below `before`, newest first, as a stream (walked from the end of the ascending list).
local function sorted_stream(ids, before)
  local kept = {}
  for _, id in ipairs(ids) do
    if before == '' or less(id, before) then kept[#kept + 1] = id end
  end
  sort_ids(kept)
  local i = #kept + 1
  return function() i = i - 1; return kept[i] end
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

-- How many memories session `sid` holds, expired ones included, in a namespace of `layout`: mi:sw has
-- them all, as mi:s does in layout 1 (an older build's session may lack mi:sw there).
local function session_memories(sid, layout)
  return redis.call('ZCARD', P .. (layout == 2 and 'mi:sw:' or 'mi:s:') .. sid)
end

-- How many memories session `sid` holds that are unexpired at `now` (superseded ones included); `layout`
-- if the caller has read it already.
local function live_memories(sid, now, layout)
  return session_memories(sid, layout or namespace_layout(nil)) -
         redis.call('ZCOUNT', P .. 'mi:se:' .. sid, '-inf', now)
end

-- What a session summary holds beyond its hash: the agents that wrote into it, its live memories
-- (live_memories) and the newest one's created_at ('' if none).
local function session_summary(sid, now)
  local agents = redis.call('SMEMBERS', P .. 'sp:' .. sid)
  local layout = namespace_layout(nil)
  local count = live_memories(sid, now, layout)
  local now_n = tonumber(now)
  if layout == 2 then
    -- The newest unexpired of the session's 64 newest memories, as in layout 1, from the end of its
    -- posting back: the last 4 entries almost always hold it. A forgotten memory's entry stays until a
    -- sweep and names no id: it costs a slot of an HMGET, not a read, and up to 1,088 entries are looked
    -- at, so that the newest memories forgotten together do not hide the one before them.
    local key = P .. 'mi:4:' .. SESSION_POSTING .. sid
    local upto, read = redis.call('STRLEN', key) / 4, 0
    for _, size in ipairs({4, 60, 256, 256, 256, 256}) do
      if upto <= 0 or read >= 64 then break end
      local from = math.max(upto - size, 0)  -- entries [from, upto) of the posting
      local stretch = redis.call('GETRANGE', key, from * 4, upto * 4 - 1)
      upto = from
      local numbers = {}
      for k = 0, #stretch / 4 - 1 do numbers[#numbers + 1] = posting_entry(stretch, k) end
      local ids = number_ids(numbers, {})
      sort_ids(ids)
      for k = #ids, 1, -1 do  -- newest first
        if read >= 64 then break end
        read = read + 1
        local b = mem_read(ids[k])
        if b then
          local ca, _, ea = mem_head(b)
          if not ea or ea > now_n then return agents, count, string.format('%.0f', ca) end
        end
      end
    end
    return agents, count, ''
  end
  -- The newest of the first 64 that is unexpired: the first 4 ids almost always hold it.
  for _, slice in ipairs({{0, 4}, {4, 60}}) do
    local ids = redis.call('ZREVRANGEBYLEX', P .. 'mi:s:' .. sid, '+', '-', 'LIMIT', slice[1], slice[2])
    for _, id in ipairs(ids) do
      local b = mem_read(id)
      if b then
        local ca, _, ea = mem_head(b)
        if not ea or ea > now_n then return agents, count, string.format('%.0f', ca) end
      end
    end
    if #ids < slice[2] then break end
  end
  return agents, count, ''
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
