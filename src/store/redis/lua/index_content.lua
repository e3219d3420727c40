-- index_content: pending memories of the namespace (mi:pend, filled by remember) into the trigram sets
-- (mi:3:<trigram>). ARGV: the most memories and the most set additions one step makes.
-- The additions bound how long a step holds Redis, and every client of it, whatever the memories'
-- sizes: a memory of 64 KB has tens of thousands of trigrams. Only a memory with more trigrams than
-- that is split across steps: one a step leaves half done stays in mi:pend scored -(trigrams added so
-- far), which puts it first for the next step; searches check it by its content meanwhile, as they do
-- every pending memory, and unindex removes what was added.
-- Memories forgotten meanwhile have left mi:pend already; one Redis expired is indexed from its mx
-- record like any other (unindex takes it out again). Returns how many are still pending.
local pending = P .. 'mi:pend'
local budget = tonumber(ARGV[2])
local entries = redis.call('ZRANGE', pending, 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local finished = {}
for i = 1, #entries, 2 do
  local id, added = entries[i], -tonumber(entries[i + 1])
  local _, _, _, _, tri = mx_read(id)
  local total = tri and #tri / 3 or 0
  -- One that does not fit what is left of the budget waits for the next step, unless it is the
  -- step's first: only a memory with more trigrams than a whole budget is split across steps.
  if added == 0 and #finished > 0 and total > budget then break end
  local upto = math.min(total, added + budget)
  for k = added, upto - 1 do
    redis.call('SADD', P .. 'mi:3:' .. string.sub(tri, 3 * k + 1, 3 * k + 3), id)
  end
  budget = budget - (upto - added)
  if upto < total then
    redis.call('ZADD', pending, -upto, id)
    break
  end
  finished[#finished + 1] = id
  if budget <= 0 then break end
end
if #finished > 0 then redis.call('ZREM', pending, unpack(finished)) end
return redis.call('ZCARD', pending)
