
local now = tonumber(ARGV[1])
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local since, until_, min_imp, needle = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local list_max = tonumber(ARGV[9])
local exclude_superseded = ARGV[10] == '1'
-- How many memories the needle's trigrams name together, as the query's first slice counted it ('' on
-- a first slice, or if it did not count): SINTERCARD runs once a query, not once a slice.
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
local trigrams = read_list(P)
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
-- Memories not in the trigram sets yet (mi:pend, see index_content) are candidates of every needle:
-- the substring check below decides.
local pending = P .. 'mi:pend'
local n_pending = #trigrams > 0 and redis.call('ZCARD', pending) or 0
if #trigrams > 0 then
  local smallest = nil
  for _, key in ipairs(trigrams) do
    local c = redis.call('SCARD', key)
    if not smallest or c < smallest then smallest = c end
  end
  if smallest + n_pending == 0 then return nothing end
  -- The intersection itself: a needle whose trigrams are each common may still name few memories, and
  -- then listing them beats any walk. It checks up to `smallest` ids against the other sets, in C, at
  -- about a thirtieth of the cost of examining an id here. When the smallest set is listable itself,
  -- the intersection is listed at once (SINTER costs about what its count would, and the listing below
  -- reuses it instead of going through the sets again). Otherwise it is counted up to list_max + 1
  -- (SINTERCARD stops there) when that costs less than the shortest walk it could spare. On the first
  -- slice only: later ones are given its size.
  local n = smallest
  local intersection = nil  -- the ids, when listed at once
  if counted_before ~= '' then
    n = math.min(tonumber(counted_before), smallest)
  elseif smallest > 0 and list_max > 0 and smallest <= list_max then
    intersection = redis.call('SINTER', unpack(trigrams))
    n = #intersection
    counted = n
  elseif smallest > 0 and list_max > 0 and
         smallest * #trigrams / 30 < math.min(cost, (limit + 1) * total / smallest) then
    local args = {#trigrams}
    for i, key in ipairs(trigrams) do args[i + 1] = key end
    args[#args + 1] = 'LIMIT'
    args[#args + 1] = list_max + 1
    n = redis.call('SINTERCARD', unpack(args))
    counted = n
  end
  if n + n_pending == 0 then return nothing end
  if cheaper_listed(n + n_pending) then
    listed, listed_cost = function()
      local ids = intersection or (n > 0 and redis.call('SINTER', unpack(trigrams))) or {}
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
while true do
  if examined >= budget then more = 1; break end
  local id = next_id()
  if not id then break end
  examined = examined + 1
  last = id
  local b = mem_read(id)
  if not b then
    if not unindex(id) and not listed then
      for _, key in ipairs(drive) do redis.call('ZREM', key, id) end
    end
  else
    local ca, imp, ea, sb, t = mem_head(b)
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
    if ok and not listed and not (n_pending > 0 and redis.call('ZSCORE', pending, id)) then
      for _, key in ipairs(trigrams) do
        if redis.call('SISMEMBER', key, id) == 0 then ok = false; break end
      end
    end
    if ok and needle ~= '' then
      ok = string.find(string.lower(mem_content(b)), needle, 1, true) ~= nil
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
