-- index_content: pending memories of the namespace (mi:pend, filled by remember) into the content index
-- (the postings mi:4:<trigram> of their lower-cased content's trigrams, see posting_entry in the prelude,
-- and their tags' postings mi:4:tag:<tag>), then, with what is left of the step, a step of the postings'
-- sweep, or else of the trimming of mi:time an older build filled (trim_time_index). ARGV: the most memories
-- and the most postings entries one step adds, and the most entries a sweep or trimming step reads.
-- The additions bound how long a step holds Redis, and every client of it, whatever the memories'
-- sizes: a memory of 64 KB has tens of thousands of trigrams. Only a memory with more trigrams than
-- that is split across steps: one a step leaves half done stays in mi:pend scored -(trigrams added so
-- far), which puts it first for the next step; searches check it by its content meanwhile, as they do
-- every pending memory.
-- A memory is numbered (mi:n) when its first step begins, so a posting's numbers are appended in
-- ascending order: a memory is finished before the next is numbered. Its number goes into its mx
-- record if it has one, else into its string (unindex reads it from there).
-- In layout 2 (namespace_layout) remember numbers every memory, one without a trigram too, and puts the
-- number into its tags', agent's and type's postings at once: mi:pend scores it by its number, so memories
-- are taken in number order, each finished before the next, and the one a step leaves half done keeps the
-- trigrams added so far in mi:half (id -> count) instead of its score.
-- Memories forgotten meanwhile have left mi:pend already; one whose string Redis expired has nothing to
-- index (unindex takes it out by its mx record). Returns how many are still pending, plus one while a
-- sweep or the trimming has more to do.
local pending = P .. 'mi:pend'
local budget = tonumber(ARGV[2])
local entries = redis.call('ZRANGE', pending, 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local finished = {}
-- The largest id numbered so far; mi:pmax keeps, for each run of PMAX_NUMBERS numbers, what it was
-- after the run's last number (a bound query_memories streams by).
local max_id = redis.call('GET', P .. 'mi:maxid')
local max_id_was = max_id
-- mi:4g keeps the first number whose tags went into postings: one numbered by a version before tag
-- postings is not in them, and searches check the tags of those numbers another way (query_memories).
local first_tagged = nil
-- Layout 2 (namespace_layout) numbers a memory when it is written, and puts its agent, type and tags into
-- postings then (remember): its pending score is its number, so memories are indexed in number order, and
-- the one a step leaves half done says how far it got in mi:half (its id -> the trigrams added).
local layout2 = namespace_layout(nil) == 2
local half_id, half_added = nil, 0
if layout2 then
  local half = redis.call('HGETALL', P .. 'mi:half')
  if #half > 0 then half_id, half_added = half[1], tonumber(half[2]) end
end
for i = 1, #entries, 2 do
  local id, score = entries[i], tonumber(entries[i + 1])
  local added = 0
  if id == half_id then added = half_added elseif score < 0 then added = -score end
  local sid, agent, typ, tags, tri, number, in_mx, b, content = index_record(id)
  if sid and tri == '' then
    -- Its trigrams come from its content (only an older build's mx record lists them). One with an mx
    -- record whose string Redis expired has nothing left to index: unindex takes it out.
    if in_mx then
      b = get_unless_hash(P .. 'm:' .. id)
      content = b and select(6, mem_head_content(b))
    end
    -- Unsorted only if it starts now and fits what is left of this step (content_trigrams).
    tri = content and content_trigrams(content, added == 0 and budget or 0) or ''
  end
  local total = tri and #tri / 3 or 0
  -- One that does not fit what is left of the budget waits for the next step, unless it is the
  -- step's first: only a memory with more trigrams than a whole budget is split across steps.
  if added == 0 and #finished > 0 and total > budget then break end
  if not sid then
    finished[#finished + 1] = id
  else
    -- One whose string Redis expired (its mx record only) gets no number: it has nothing to find. In
    -- layout 2 every memory has its number already.
    local numbered_now = not number and total > 0
    if numbered_now then
      -- An older version's step may have left it half done in the trigram sets: those members go,
      -- and it starts again in postings.
      for k = 0, added - 1 do
        redis.call('SREM', P .. 'mi:3:' .. string.sub(tri, 3 * k + 1, 3 * k + 3), id)
      end
      added = 0
      -- Its tags' postings take the number at once (a few entries: not counted against the budget).
      number, max_id = give_number(id, max_id, tags, layout2 and b and {agent, typ, select(2, mem_head(b)), sid})
      first_tagged = first_tagged or number
      if not in_mx then mem_set_number(id, b, number) end
    end
    local entry = number and struct.pack('>I4', number)
    local upto = math.min(total, added + budget)
    for k = added, upto - 1 do
      local trigram = string.sub(tri, 3 * k + 1, 3 * k + 3)
      if redis.call('APPEND', P .. 'mi:4:' .. trigram, entry) == 4 then
        redis.call('ZADD', P .. 'mi:4k', 0, trigram)
      end
    end
    budget = budget - (upto - added)
    if upto < total then
      if numbered_now and in_mx then mx_write(id, sid, agent, typ, tags, tri, number) end
      if layout2 then
        redis.call('DEL', P .. 'mi:half')
        redis.call('HSET', P .. 'mi:half', id, upto)
      else
        redis.call('ZADD', pending, -upto, id)
      end
      break
    end
    -- Done: an mx record keeps its number, and no longer its trigrams.
    if in_mx then mx_write(id, sid, agent, typ, tags, '', number) end
    if id == half_id then redis.call('DEL', P .. 'mi:half') end
    finished[#finished + 1] = id
  end
  if budget <= 0 then break end
end
if #finished > 0 then redis.call('ZREM', pending, unpack(finished)) end
if max_id ~= max_id_was then redis.call('SET', P .. 'mi:maxid', max_id) end
if first_tagged then redis.call('SET', P .. 'mi:4g', first_tagged, 'NX') end
local left = redis.call('ZCARD', pending)
-- A trimming step reads a quarter as many entries as a sweep step: 512, about 1 ms of Redis.
if left == 0 and budget > 0 and
   (sweep_postings(tonumber(ARGV[3])) or trim_time_index(math.ceil(tonumber(ARGV[3]) / 4))) then
  left = 1
end
return left
