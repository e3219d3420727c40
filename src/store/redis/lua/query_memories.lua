
local now = tonumber(ARGV[1])
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local since, until_, min_imp, needle = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local list_max = tonumber(ARGV[9])
local exclude_superseded = ARGV[10] == '1'
local session, agent = ARGV[11], ARGV[12]
local pos = 13
local function read_list()
  local n, items = tonumber(ARGV[pos]), {}
  for i = 1, n do items[i] = ARGV[pos + i] end
  pos = pos + n + 1
  return items
end
local types = read_list()
local trigrams = read_list()
local tags = read_list()
-- The all-of filters kept as sorted sets of ids, in layout 1: the session's, the agent's and the tags'
-- (namespace_layout). Layout 2 keeps those as postings (`members` below), as it does types.
local layout2 = namespace_layout(nil) == 2
local all = {}
local type_keys, type_ok = {}, {}
for i, t in ipairs(types) do type_ok[t] = true end
-- In layout 2: the postings' names (mi:4:<name>) of the session, the agent, the tags and a lone type.
local members = {}
if layout2 then
  if session ~= '' then members[#members + 1] = SESSION_POSTING .. session end
  if agent ~= '' then members[#members + 1] = AGENT_POSTING .. agent end
  for _, tag in ipairs(tags) do members[#members + 1] = TAG_POSTING .. tag end
  if #types == 1 then members[#members + 1] = TYPE_POSTING .. types[1] end
else
  if session ~= '' then all[#all + 1] = P .. 'mi:s:' .. session end
  if agent ~= '' then all[#all + 1] = P .. 'mi:a:' .. agent end
  for _, tag in ipairs(tags) do all[#all + 1] = P .. 'mi:g:' .. tag end
  for i, t in ipairs(types) do type_keys[i] = P .. 'mi:t:' .. t end
  -- With a needle, the tags' postings narrow its candidates (from mi:4g on, see below).
  if #trigrams > 0 then
    for _, tag in ipairs(tags) do members[#members + 1] = TAG_POSTING .. tag end
  end
end

-- How many of a needle's trigram postings a search intersects, the smallest among them (see `order`).
local INTERSECTED_TRIGRAMS = 4

-- The entries of a posting string (or of a stretch of one), ascending, decoded in C: struct.unpack puts
-- its results on Lua's stack, so a block of at most 1,024 at a time.
local ENTRY_FORMATS = {}
local function entry_format(n)
  local format = ENTRY_FORMATS[n]
  if not format then format = '>' .. string.rep('I4', n); ENTRY_FORMATS[n] = format end
  return format
end
local function posting_entries(s)
  local t, at = nil, 1
  while at <= #s do
    local n = math.min(1024, (#s - at + 1) / 4)
    local block = {struct.unpack(entry_format(n), s, at)}
    at = block[n + 1]  -- unpack's last value is where it stopped
    block[n + 1] = nil
    if not t then t = block else for _, e in ipairs(block) do t[#t + 1] = e end end
  end
  return t or {}
end

-- Appends to `kept` those of numbers[from..to] (descending) that the posting string (or stretch) `s`
-- holds, and returns it: by one merge through both where `s` has at most 16 entries a number, else by
-- halving for each number, below the entry the one before it stopped at.
local function posting_keep(s, numbers, from, to, kept)
  local count = #s / 4
  if count == 0 then return kept end
  if count <= 16 * (to - from + 1) then
    local t, q = posting_entries(s), count
    for x = from, to do
      local n = numbers[x]
      while q >= 1 and t[q] > n do q = q - 1 end
      if q < 1 then break end
      if t[q] == n then kept[#kept + 1] = n end
    end
  else
    local hi = count - 1
    for x = from, to do
      local n = numbers[x]
      local lo = 0
      while lo < hi do
        local mid = math.floor((lo + hi + 1) / 2)
        if posting_entry(s, mid) <= n then lo = mid else hi = mid - 1 end
      end
      local e = posting_entry(s, lo)
      if e == n then kept[#kept + 1] = n end
      if e > n then break end
      hi = lo
    end
  end
  return kept
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
-- Memories not in the content index yet (mi:pend, see index_content) are candidates of every needle: the
-- substring check below decides. (In layout 2 they are in their session's, agent's, type's, tags' and
-- importance band's postings from their remember on.)
local pending = P .. 'mi:pend'
local by_postings = #trigrams > 0 or #members > 0
local n_pending = #trigrams > 0 and redis.call('ZCARD', pending) or 0
local streamed = nil  -- the postings' candidates, newest first (a function making next_id)
-- Candidates the postings give that did not come from every one of them: the memories pending a needle's
-- trigrams (and an older version's set members), which the checks below look at whole.
local unvouched = {}
local listed_by_postings = false
if by_postings then
  -- A trigram's candidates: its posting's entries (forgotten memories' included, until a sweep), and the
  -- members of its set if an older version indexed memories into sets (mi:3:, see unindex).
  local postings, sizes, old_sets, old_smallest = {}, {}, {}, nil
  local smallest, smallest_i = nil, nil
  -- A posting names every candidate numbered from first[i] on: a trigram's, all of them (0), and so does
  -- every posting of layout 2; a tag's in layout 1, those numbered since tag postings exist (mi:4g, see
  -- index_content). A posting that is not whole (first[i] > 1) only narrows the candidates numbered from
  -- first[i] on; it never drives.
  local first = {}
  for i, trigram in ipairs(trigrams) do
    postings[i] = P .. 'mi:4:' .. trigram
    old_sets[i] = P .. 'mi:3:' .. trigram
    first[i] = 0
    local old = redis.call('SCARD', old_sets[i])
    if not old_smallest or old < old_smallest then old_smallest = old end
    sizes[i] = redis.call('STRLEN', postings[i]) / 4
    local c = sizes[i] + old
    if not smallest or c < smallest then smallest, smallest_i = c, i end
  end
  old_smallest = old_smallest or 0
  if #members > 0 then
    local members_from = 0
    if not layout2 then
      local first_tagged = redis.call('GET', P .. 'mi:4g')
      members_from = first_tagged and tonumber(first_tagged) or math.huge
    end
    for _, name in ipairs(members) do
      local i = #postings + 1
      postings[i] = P .. 'mi:4:' .. name
      sizes[i], first[i] = redis.call('STRLEN', postings[i]) / 4, members_from
      -- A tag's memories that an older version indexed into sets are among the old sets' candidates.
      local c = sizes[i] + old_smallest
      if members_from <= 1 and (not smallest or c < smallest) then smallest, smallest_i = c, i end
    end
  end
  if smallest + n_pending == 0 then return nothing end
  -- The other postings in the order a candidate is checked against them: the session's, agent's, tags' and
  -- type's first, then trigrams, the smallest of each first. A candidate of the smallest posting is in most other
  -- postings of the same needle (they share its words), so they reject few; a tag, which has nothing to do
  -- with the content, rejects candidates at its own rate.
  local order = {}
  for i = 1, #postings do if i ~= smallest_i then order[#order + 1] = i end end
  table.sort(order, function(a, b)
    local member_a, member_b = a > #trigrams, b > #trigrams
    if member_a ~= member_b then return member_a end
    return sizes[a] < sizes[b]
  end)
  -- Of the trigrams, only the rarest few are intersected. A needle's trigrams overlap and come together
  -- (a candidate with its rarest four nearly always has the rest), so the others rejected almost nothing
  -- while each cost a walk through a posting larger than any before it: a needle of 13 trigrams spent
  -- most of its 5-20 ms there. The substring check of each candidate's content, which every match
  -- passes anyway, rejects what they would have. Tags are all kept: they reject at their own rate.
  local capped, trigrams_kept = {}, smallest_i <= #trigrams and 1 or 0
  for _, i in ipairs(order) do
    if i > #trigrams then
      capped[#capped + 1] = i
    elseif trigrams_kept < INTERSECTED_TRIGRAMS then
      trigrams_kept = trigrams_kept + 1
      capped[#capped + 1] = i
    end
  end
  order = capped
  -- The intersection's ids: the smallest posting's numbers kept if every other posting has them
  -- (posting_keep), mapped to ids (a forgotten number has none); and the intersection of the old sets.
  -- Their order does not matter: the listed ids are sorted (sorted_stream).
  local function intersect()
    local numbers = {}  -- descending
    if sizes[smallest_i] > 0 then
      local t = posting_entries(redis.call('GET', postings[smallest_i]))
      for k = #t, 1, -1 do numbers[#numbers + 1] = t[k] end
    end
    -- A posting that is not whole is left out here: the all-of check below reads the tag's zset.
    for _, i in ipairs(order) do
      if #numbers == 0 then break end
      if first[i] <= 1 then
        numbers = posting_keep(sizes[i] > 0 and redis.call('GET', postings[i]) or '', numbers, 1, #numbers, {})
      end
    end
    local ids = number_ids(numbers, {})  -- a forgotten number has none
    if old_smallest > 0 then append_new(ids, redis.call('SINTER', unpack(old_sets))) end
    return ids
  end
  -- The candidates are streamed newest first: the smallest posting read from its end a chunk at a time (sized
  -- by the rate of candidates so far), each number kept if every other posting has it (keep_in, posting
  -- after posting), mapped to its id (one HMGET a chunk; a forgotten number has none). Numbers follow the order
  -- memories were indexed in, which is id order but for memories written late (another server's clock, an
  -- import): so a chunk's ids are pooled, and an id leaves the pool once it is at least mi:pmax of the next
  -- unread number's run, the largest id any number up to that run has; no unread candidate can come before
  -- it. Pending memories and an older version's set intersection join the pool at once. So a needle whose
  -- candidates are many reads a chunk or two to find `limit` matches, not all of them. (One memory with an id
  -- far ahead of the others, from a clock far ahead, keeps every bound above the rest: such searches then
  -- read every candidate, still in order.)
  local function stream()
    -- Postings are never read whole: at a million memories a trigram's posting is 100-200 KB, and a
    -- search reads a chunk or two of the smallest and, of each other, the stretches its candidates fall in.
    local others, others_first, tops, windows, window_at = {}, {}, {}, {}, {}
    for j, i in ipairs(order) do
      others[j] = postings[i]
      others_first[j] = first[i]
      tops[j] = sizes[i] - 1  -- every entry above it is larger than any candidate still to come
      windows[j], window_at[j] = '', sizes[i]
    end
    -- The number at entry p of other posting j, read in aligned windows of WINDOW entries.
    local WINDOW = 64
    local function other_entry(j, p)
      local from = window_at[j]
      if p < from or p >= from + #windows[j] / 4 then
        from = p - p % WINDOW
        windows[j], window_at[j] = redis.call('GETRANGE', others[j], from * 4, from * 4 + WINDOW * 4 - 1), from
      end
      return posting_entry(windows[j], p - from)
    end
    -- A posting's entries are spread about evenly over the numbers given (mi:n): `density` of them a number.
    local numbered = math.max(tonumber(redis.call('GET', P .. 'mi:n') or '0') or 0, 1)
    local density = {}
    for j, i in ipairs(order) do density[j] = sizes[i] / numbered end
    -- Given lo (an index of other posting j whose number is at most n, or -1) and hi > lo (one whose number
    -- is above n): the largest index whose number is at most n, by halving.
    local function halve(j, lo, hi, n)
      while hi - lo > 1 do
        local mid = math.floor((lo + hi) / 2)
        if other_entry(j, mid) <= n then lo = mid else hi = mid end
      end
      return lo
    end
    -- The largest index p <= hi of other posting j whose number is at most n, or -1: one probe where the
    -- density puts n, then a gallop from there (up or down) and halving.
    local function last_at_most(j, hi, n)
      if hi < 0 then return hi end
      local e = other_entry(j, hi)
      if e <= n then return hi end
      local guess = hi - 1 - math.floor((e - n) * density[j])
      if guess >= 0 and guess < hi - 1 then
        if other_entry(j, guess) <= n then
          local lo, step = guess, 1
          while lo + step < hi and other_entry(j, lo + step) <= n do lo = lo + step; step = step * 2 end
          return halve(j, lo, math.min(lo + step, hi), n)
        end
        hi = guess
      end
      local step, lo = 1, hi - 1
      while lo >= 0 and other_entry(j, lo) > n do hi = lo; lo = lo - step; step = step * 2 end
      return halve(j, math.max(lo, -1), hi, n)
    end
    -- Those of `candidates` (numbers, descending) that other posting j has, and true if it has nothing
    -- at or below one of them: then no smaller number is in every posting, and the stream ends. A number
    -- below the first of a posting that is not whole is kept (the posting says nothing of it).
    -- Candidates are taken GROUP at a time: the posting's entries between a group's largest and smallest
    -- (their ends found by last_at_most) are read in one GETRANGE, and the group is looked up there
    -- (posting_keep: a merge, or halving where the stretch is much denser than the group). Checking
    -- candidate by candidate, each one stepping or galloping through windows of the posting, cost twice
    -- as much: a tag's posting is ten times as dense as a trigram's, and the candidates that pass it are
    -- far apart in the postings checked after it.
    local GROUP = 128
    local function keep_in(j, candidates)
      local kept, first_j, i = {}, others_first[j], 1
      while i <= #candidates do
        if candidates[i] < first_j then
          for x = i, #candidates do kept[#kept + 1] = candidates[x] end
          break
        end
        local k = i
        while k < #candidates and k - i + 1 < GROUP and candidates[k + 1] >= first_j do k = k + 1 end
        local p_hi = last_at_most(j, tops[j], candidates[i])
        if p_hi < 0 then
          tops[j] = -1
          if first_j <= 1 then return kept, true end
        else
          local p_lo = last_at_most(j, p_hi, candidates[k] - 1) + 1
          tops[j] = p_lo - 1
          if p_lo <= p_hi then
            posting_keep(redis.call('GETRANGE', others[j], p_lo * 4, p_hi * 4 + 3), candidates, i, k, kept)
          end
        end
        i = k + 1
      end
      return kept, false
    end
    local pool, ready = {}, {}  -- ids not yet sure of their place; ids sure of it, ascending
    local seen = {}  -- a memory an index step left half done is both pending and in postings
    local function join(id)
      if not seen[id] and (before == '' or less(id, before)) then
        seen[id] = true
        pool[#pool + 1] = id
      end
    end
    if n_pending > 0 then
      for _, id in ipairs(redis.call('ZRANGE', pending, 0, -1)) do
        unvouched[id] = true
        join(id)
      end
    end
    if old_smallest > 0 then
      for _, id in ipairs(redis.call('SINTER', unpack(old_sets))) do
        unvouched[id] = true
        join(id)
      end
    end
    -- The first chunk holds as many entries as matches are wanted. Each next one holds as many as the
    -- rate of candidates so far says the rest of the page needs, and a quarter more (twice the last one
    -- while no entry was a candidate), at most 1024.
    local chunk_size = math.max(limit + 1, PMAX_NUMBERS)
    local read, produced = 0, 0
    local top = sizes[smallest_i] - 1  -- the next entry of the smallest posting to read, downwards
    local bound = nil                  -- '' once every candidate is in the pool
    local function read_chunk()
      local numbers, exhausted = {}, false
      local last = math.max(top - chunk_size + 1, 0)
      read = read + (top - last + 1)
      local chunk = posting_entries(top >= 0 and redis.call('GETRANGE', postings[smallest_i], last * 4, top * 4 + 3) or '')
      for k = #chunk, 1, -1 do numbers[#numbers + 1] = chunk[k] end
      for j = 1, #others do
        if #numbers == 0 then break end
        local ended
        numbers, ended = keep_in(j, numbers)
        if ended then exhausted = true end
      end
      top = exhausted and -1 or last - 1
      produced = produced + #numbers
      if produced == 0 then
        chunk_size = math.min(chunk_size * 2, 1024)
      else
        local wanted = math.max(limit + 1 - produced, 1)
        chunk_size = math.min(math.max(math.ceil(wanted * read / produced * 1.25), PMAX_NUMBERS), 1024)
      end
      if #numbers > 0 then
        for _, id in ipairs(redis.call('HMGET', P .. 'mi:ids', unpack(numbers))) do
          if id then join(id) end
        end
      end
      if top < 0 then
        bound = ''
      else
        local next_number = posting_entry(redis.call('GETRANGE', postings[smallest_i], top * 4, top * 4 + 3), 0)
        bound = redis.call('HGET', P .. 'mi:pmax', math.floor(next_number / PMAX_NUMBERS))
      end
    end
    return function()
      while #ready == 0 do
        if bound == '' and #pool == 0 then return nil end
        if bound ~= '' then read_chunk() end
        sort_ids(pool)
        local cut = #pool
        if bound ~= '' then
          while cut >= 1 and bound and not less(pool[cut], bound) do cut = cut - 1 end
          if not bound then cut = #pool end
        else
          cut = 0
        end
        for k = cut + 1, #pool do ready[#ready + 1] = pool[k] end
        for k = #pool, cut + 1, -1 do pool[k] = nil end
      end
      return table.remove(ready)
    end
  end
  -- The needle's candidates drive when reading all of them costs less than walking the whole drive:
  -- its postings' entries at about a fifteenth of the cost of examining a memory each, and the pending
  -- memories. (Both costs as they are at worst: streaming stops as soon as it has `limit` matches, and
  -- so does the walk, but the walk's rate of matches is not known, and a needle of common trigrams may
  -- name few memories.) A needle of few candidates, its smallest posting of at most 512 entries, is listed
  -- whole: the intersection at once, then sorted, costs less than streaming it.
  local candidates = smallest + n_pending
  if smallest * #postings / 15 + n_pending < cost then
    if smallest <= 512 and candidates <= list_max then
      listed, listed_cost = function()
        local ids = intersect()
        -- A memory an index step left half done is in both (index_content): listed once.
        if n_pending > 0 then
          local waiting = redis.call('ZRANGE', pending, 0, -1)
          for _, id in ipairs(waiting) do unvouched[id] = true end
          append_new(ids, waiting)
        end
        return ids
      end, candidates
      listed_by_postings = true
    else
      streamed, listed_cost = stream, candidates
    end
  end
end
-- A window of time: the memories whose id tells their time (id_made_at) are the range of mi:all made in
-- it, below the cursor; the others are in mi:time by created_at. The range also holds any id that only
-- looks made in the window: the check of created_at below drops it.
local since_n = since ~= '' and tonumber(since) or nil
local until_n = until_ ~= '' and tonumber(until_) or nil
if since_n or until_n then
  local lo = since_n and since or '-inf'
  local top = until_n and ('(' .. until_) or '+inf'
  local lex_lo, lex_hi = '-', hi  -- lex_lo false: no id is made in the window
  if since_n and since_n > 0 then
    local prefix = id_time_prefix(math.ceil(since_n))
    lex_lo = prefix and '[' .. prefix
  end
  if until_n and until_n < 2 ^ 48 then
    local prefix = until_n > 0 and id_time_prefix(math.ceil(until_n))
    if not prefix then
      lex_lo = nil
    elseif before == '' or less(prefix, before) then
      lex_hi = '(' .. prefix
    end
  end
  local c = redis.call('ZCOUNT', P .. 'mi:time', lo, top)
  if lex_lo then c = c + redis.call('ZLEXCOUNT', P .. 'mi:all', lex_lo, lex_hi) end
  if c == 0 then return nothing end
  if cheaper_listed(c) then
    listed, listed_cost = function()
      local ids = lex_lo and redis.call('ZRANGEBYLEX', P .. 'mi:all', lex_lo, lex_hi) or {}
      -- Memories an older build put in both (trim_time_index takes them out of mi:time) are listed once.
      append_new(ids, redis.call('ZRANGEBYSCORE', P .. 'mi:time', lo, top))
      return ids
    end, c
    listed_by_postings = false
  end
end
if min_imp ~= '' and not layout2 then
  local c = redis.call('ZCOUNT', P .. 'mi:imp', min_imp, '+inf')
  if c == 0 then return nothing end
  if cheaper_listed(c) then
    listed, listed_cost = function() return redis.call('ZRANGEBYSCORE', P .. 'mi:imp', min_imp, '+inf') end, c
    listed_by_postings = false
  end
elseif min_imp ~= '' then
  -- Layout 2: the postings of the bands the minimum and above name every memory that may have it (and
  -- forgotten ones until a sweep); the importance check below decides.
  local bands, c = {}, 0
  for band = importance_band(tonumber(min_imp)), 20 do
    local key = P .. 'mi:4:' .. IMPORTANCE_POSTING .. band
    local n = redis.call('STRLEN', key) / 4
    if n > 0 then
      bands[#bands + 1] = key
      c = c + n
    end
  end
  if c == 0 then return nothing end
  if cheaper_listed(c) then
    listed, listed_cost = function()
      local ids = {}
      for _, key in ipairs(bands) do number_ids(posting_entries(redis.call('GET', key)), ids) end
      return ids
    end, c
    listed_by_postings = false
  end
end
local next_id
local vouched = false  -- whether every candidate not in `unvouched` is in every posting searched
if listed then
  next_id = sorted_stream(listed(), before)
  drive_index = 0
  vouched = listed_by_postings
elseif streamed then
  next_id = streamed()
  drive_index = 0
  vouched = true
else
  next_id = lex_stream(drive, hi, math.min(budget, math.max(limit + 1, 32)))
end

local min_n = min_imp ~= '' and tonumber(min_imp) or nil
-- In layout 2 the session, agent and tags asked for are checked in the strings of the candidates the
-- postings do not vouch for: the pending ones, and all those of a walk or of a window listed whole.
local check_members = layout2 and (session ~= '' or agent ~= '' or #tags > 0)
local function members_match(b)
  local f = mem_decode(b)
  if session ~= '' and f.s ~= session then return false end
  if agent ~= '' and f.a ~= agent then return false end
  if #tags == 0 then return true end
  local has = {}
  for _, tag in ipairs(decode_list(f.g)) do has[tag] = true end
  for _, tag in ipairs(tags) do
    if not has[tag] then return false end
  end
  return true
end
local out = {before, 0, 0}
local last, examined, more, found = before, 0, 0, 0
-- Candidates are read ahead: each checked against the all-of zsets it was not walked along (ZSCORE,
-- before its memory is read: most candidates of a rare combination fail there), then one MGET for
-- those that passed, as many as are still to be found (at least 8, at most 64, within the budget).
-- Those read and not examined are read again by the next slice.
local ahead, passed, records, at = {}, {}, {}, 1
while true do
  if examined >= budget then more = 1; break end
  if at > #ahead then
    ahead, passed, records, at = {}, {}, {}, 1
    local to_read = {}
    while #to_read < math.min(math.max(limit - found, 8), 64) and #ahead < budget - examined do
      local id = next_id()
      if not id then break end
      local ok = true
      for i, key in ipairs(all) do
        if i ~= drive_index and not redis.call('ZSCORE', key, id) then ok = false; break end
      end
      ahead[#ahead + 1] = id
      passed[#ahead] = ok
      if ok then to_read[#to_read + 1] = id end
    end
    if #ahead == 0 then break end
    local got = #to_read > 0 and mem_read_many(to_read) or {}
    local g = 0
    for k = 1, #ahead do
      if passed[k] then g = g + 1; records[k] = got[g] end
    end
  end
  local id, ok_all, b = ahead[at], passed[at], records[at]
  at = at + 1
  examined = examined + 1
  last = id
  -- One not in every all-of zset has nothing more to look at.
  if ok_all and not b then
    if not unindex(id) and not listed and not streamed then
      for _, key in ipairs(drive) do redis.call('ZREM', key, id) end
    end
  elseif ok_all then
    local ca, imp, ea, sb, t, content
    if needle ~= '' then
      ca, imp, ea, sb, t, content = mem_head_content(b)
    else
      ca, imp, ea, sb, t = mem_head(b)
    end
    local ok = #types == 0 or type_ok[t] == true
    if ok and check_members and (not vouched or unvouched[id]) then ok = members_match(b) end
    if ok and since_n and ca < since_n then ok = false end
    if ok and until_n and ca >= until_n then ok = false end
    if ok and min_n and imp < min_n then ok = false end
    if ok and ea and ea <= now then ok = false end
    if ok and exclude_superseded and sb then ok = false end
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
out[1], out[2], out[3] = last, more, examined
return out
