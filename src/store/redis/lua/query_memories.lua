
local now = tonumber(ARGV[1])
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local since, until_, min_imp, needle = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local list_max = tonumber(ARGV[9])
local exclude_superseded = ARGV[10] == '1'
-- How many memories the needle's trigrams name together, as the query's first slice counted it ('' on
-- a first slice, or if it did not count): the intersection is made once a query, not once a slice.
local counted_before = ARGV[11]
local pos = 12
local function read_list(prefix)
  local n, items = tonumber(ARGV[pos]), {}
  for i = 1, n do items[i] = prefix .. ARGV[pos + i] end
  pos = pos + n + 1
  return items
end
local all = read_list(P)
local types = read_list('')
local trigrams = read_list('')
local type_keys, type_ok = {}, {}
for i, t in ipairs(types) do
  type_keys[i] = P .. 'mi:t:' .. t
  type_ok[t] = true
end

local hi = before == '' and '+' or '(' .. before
local function below(key) return redis.call('ZLEXCOUNT', key, '-', hi) end
local nothing = {before, 0, 0, ''}

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
-- cheaper than the walk. n of the `total` memories below the cursor are candidates, and the walk meets
-- them at that rate whichever index drives it (a tag's memories hold a word as often as any others),
-- so it examines about (limit + 1) * total / n ids to find limit matches, at most the `cost` ids it
-- walks. Listing an id costs about a quarter of examining one (C commands and a sort, against a Lua
-- check per id).
local total = drive[1] == P .. 'mi:all' and cost or below(P .. 'mi:all')
local listed, listed_cost = nil, nil
local function cheaper_listed(n)
  local walk = math.min(cost, (limit + 1) * total / math.max(n, 1))
  return n <= list_max and n / 4 < walk and (not listed_cost or n < listed_cost)
end
local counted = nil  -- the intersection's size as this slice found it, for the next one
-- Memories not in the content index yet (mi:pend, see index_content) are candidates of every needle:
-- the substring check below decides.
local pending = P .. 'mi:pend'
local n_pending = #trigrams > 0 and redis.call('ZCARD', pending) or 0
if #trigrams > 0 then
  -- A trigram's candidates: its posting's entries (forgotten memories' included, until a sweep), and the
  -- members of its set if an older version indexed memories into sets (mi:3:, see unindex).
  local postings, sizes, old_sets, old_smallest = {}, {}, {}, nil
  local smallest, smallest_i = nil, nil
  for i, trigram in ipairs(trigrams) do
    postings[i] = P .. 'mi:4:' .. trigram
    old_sets[i] = P .. 'mi:3:' .. trigram
    local old = redis.call('SCARD', old_sets[i])
    if not old_smallest or old < old_smallest then old_smallest = old end
    sizes[i] = redis.call('STRLEN', postings[i]) / 4
    local c = sizes[i] + old
    if not smallest or c < smallest then smallest, smallest_i = c, i end
  end
  if smallest + n_pending == 0 then return nothing end
  -- The intersection's ids: the smallest posting's numbers kept if every other posting has them
  -- (galloping through each, ascending), mapped to ids (a forgotten number has none); and the
  -- intersection of the old sets.
  local function intersect()
    local numbers = {}
    if sizes[smallest_i] > 0 then
      local s = redis.call('GET', postings[smallest_i])
      for at = 1, #s, 4 do
        local a, b, c, d = byte(s, at, at + 3)
        numbers[#numbers + 1] = a * 16777216 + b * 65536 + c * 256 + d
      end
    end
    local order = {}
    for i = 1, #trigrams do if i ~= smallest_i then order[#order + 1] = i end end
    table.sort(order, function(a, b) return sizes[a] < sizes[b] end)
    for _, i in ipairs(order) do
      if #numbers == 0 then break end
      local s = sizes[i] > 0 and redis.call('GET', postings[i]) or ''
      local count, kept = #s / 4, {}
      if count <= 8 * #numbers then
        -- Comparable sizes: one merge through both, each entry decoded once.
        local at, e = 1, -1
        for _, n in ipairs(numbers) do
          while e < n and at <= #s do
            local a, b, c, d = byte(s, at, at + 3)
            e = a * 16777216 + b * 65536 + c * 256 + d
            at = at + 4
          end
          if e == n then kept[#kept + 1] = n elseif e < n then break end
        end
      else
        -- A much longer posting: gallop to each number, then halve.
        local lo = 0
        for _, n in ipairs(numbers) do
          local step, hi = 1, lo
          while hi < count and posting_entry(s, hi) < n do lo = hi + 1; hi = hi + step; step = step * 2 end
          if hi > count then hi = count end
          while lo < hi do
            local mid = math.floor((lo + hi) / 2)
            if posting_entry(s, mid) < n then lo = mid + 1 else hi = mid end
          end
          if lo >= count then break end
          if posting_entry(s, lo) == n then kept[#kept + 1] = n end
        end
      end
      numbers = kept
    end
    -- Their ids, a thousand numbers a call (a forgotten number has none).
    local ids = {}
    for first = 1, #numbers, 1000 do
      local got = redis.call('HMGET', P .. 'mi:ids', unpack(numbers, first, math.min(first + 999, #numbers)))
      for _, id in ipairs(got) do if id then ids[#ids + 1] = id end end
    end
    if old_smallest > 0 then
      local seen = {}
      for _, id in ipairs(ids) do seen[id] = true end
      for _, id in ipairs(redis.call('SINTER', unpack(old_sets))) do
        if not seen[id] then ids[#ids + 1] = id end
      end
    end
    return ids
  end
  -- The intersection itself: a needle whose trigrams are each common may still name few memories, and
  -- then listing them beats any walk. Making it reads the postings in Lua, at about a fifteenth of the
  -- cost of examining a memory an entry; it is made when the smallest posting is listable itself, or
  -- when that costs less than the shortest walk it could spare. On the first slice only: later ones
  -- are given its size, and make it again only to list it.
  local n = smallest
  local intersection = nil  -- the ids, when made on this slice
  if counted_before ~= '' then
    n = math.min(tonumber(counted_before), smallest)
  elseif smallest > 0 and list_max > 0 and
         (smallest <= list_max or smallest * #trigrams / 15 < math.min(cost, (limit + 1) * total / smallest)) then
    intersection = intersect()
    n = #intersection
    counted = n
  end
  if n + n_pending == 0 then return nothing end
  if cheaper_listed(n + n_pending) then
    listed, listed_cost = function()
      local ids = intersection or (n > 0 and intersect()) or {}
      if n_pending > 0 then
        -- A memory an index step left half done is in both (index_content): listed once.
        local seen = {}
        for _, id in ipairs(ids) do seen[id] = true end
        for _, id in ipairs(redis.call('ZRANGE', pending, 0, -1)) do
          if not seen[id] then ids[#ids + 1] = id end
        end
      end
      return ids
    end, n + n_pending
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
local out = {before, 0, 0, ''}
local last, examined, more, found = before, 0, 0, 0
-- Candidates are read ahead, one MGET for as many as are still to be found (at least 8, at most 64,
-- within the budget); those read and not examined are read again by the next slice.
local ahead, records, at = {}, {}, 1
while true do
  if examined >= budget then more = 1; break end
  if at > #ahead then
    ahead, at = {}, 1
    for k = 1, math.min(math.max(limit - found, 8), 64, budget - examined) do
      local id = next_id()
      if not id then break end
      ahead[k] = id
    end
    if #ahead == 0 then break end
    records = mem_read_many(ahead)
  end
  local id, b = ahead[at], records[at]
  at = at + 1
  examined = examined + 1
  last = id
  if not b then
    if not unindex(id) and not listed then
      for _, key in ipairs(drive) do redis.call('ZREM', key, id) end
    end
  else
    local ca, imp, ea, sb, t, content
    if needle ~= '' then
      ca, imp, ea, sb, t, content = mem_head_content(b)
    else
      ca, imp, ea, sb, t = mem_head(b)
    end
    local ok = #types == 0 or type_ok[t] == true
    if ok and since_n and ca < since_n then ok = false end
    if ok and until_n and ca >= until_n then ok = false end
    if ok and min_n and imp < min_n then ok = false end
    if ok and ea and ea <= now then ok = false end
    if ok and exclude_superseded and sb then ok = false end
    if ok then
      for i, key in ipairs(all) do
        if i ~= drive_index and not redis.call('ZSCORE', key, id) then ok = false; break end
      end
    end
    if ok and needle ~= '' then
      ok = string.find(string.lower(content), needle, 1, true) ~= nil
    end
    if ok then
      out[#out + 1] = b
      found = found + 1
      if found >= limit then more = 1; break end
    end
  end
end
out[1], out[2], out[3], out[4] = last, more, examined, counted and tostring(counted) or ''
return out
