-- rank_memories, one bounded slice of a session's importance index (mi:sw:<session>, scored by
-- importance; equal scores in id order, so walking it down is most important, then newest first),
-- from rank `from` down. Returns the strings of the first `want` live memories nothing superseded, and
-- counts those memories up to `count_to` in all.
-- ARGV: now session from want budget count_to with_session ('1': the first slice also describes the
-- session, as find_sessions does, so that a digest reads everything it needs in one round trip)
-- max_weight per_memory agent_cap type_cap content_cap (max_weight > 0: stop returning memories once
-- those returned weigh more than max_weight, each per_memory plus its agent, type and content bytes up
-- to their caps; RankQuery::Weight).
-- Reply: {last rank examined, more, examined, counted, {session hash, agents, count, last activity} or
-- {} (not asked, or no such session: then nothing else), memory strings...}
local now = tonumber(ARGV[1])
local sid = ARGV[2]
local key = P .. 'mi:sw:' .. sid
local from, want, budget, count_to = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local described = {}
if ARGV[7] == '1' then
  local h = redis.call('HGETALL', P .. 's:' .. sid)
  if #h == 0 then return {tostring(from), 0, 0, 0, {}} end
  local agents, count, last_activity = session_summary(sid, ARGV[1])
  described = {h, agents, count, last_activity}
end

-- A session whose superseded memories are all in mi:ss (see redis_keys.h) is counted without reading
-- its memories: all of them, less the expired ones, less the superseded ones still live. The first
-- slice gives the count; the walk then only looks for the `want` memories it returns. Older sessions
-- are counted by walking, slice after slice.
local counted = 0
if redis.call('HEXISTS', P .. 's:' .. sid, 'ssx') == 1 then
  if from == 0 then
    local all = described[3] or live_memories(sid, ARGV[1])  -- the description counted them already
    local live = all - redis.call('ZCOUNT', P .. 'mi:ss:' .. sid, '(' .. ARGV[1], '+inf')
    counted = math.min(math.max(live, 0), count_to)
  end
  count_to = 0
end

local max_weight, per_memory = tonumber(ARGV[8]), tonumber(ARGV[9])
local agent_cap, type_cap, content_cap = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local weighed = 0

local out = {}
local pos, examined, walk_counted, more = from, 0, 0, 0

-- How many ids the next slice reads. While it counts, 64. Otherwise no more than the memories still
-- wanted and, under a weight bound, about as many as the weight left takes at the mean weight of those
-- returned so far, with a quarter and two to spare: a digest stops a few memories into its second
-- slice, and reading all 64 of it cost as much again as the first. An estimate that falls short costs
-- one more slice, never a memory.
local function slice_size()
  local n = math.min(64, budget - examined)
  if walk_counted < count_to then return n end
  n = math.min(n, want)
  if max_weight > 0 and weighed > 0 then
    n = math.min(n, math.floor((max_weight - weighed) * #out / weighed * 1.25) + 2)
  end
  return n
end

while examined < budget and (want > 0 or walk_counted < count_to) do
  local ids = redis.call('ZREVRANGE', key, pos, pos + slice_size() - 1)
  if #ids == 0 then break end
  local records = mem_read_many(ids)
  for i = 1, #ids do
    pos, examined = pos + 1, examined + 1
    local b = records[i]
    if b then
      local _, _, ea, sb, t, a, clen = mem_head(b)
      if not sb and not (ea and ea <= now) then
        walk_counted = walk_counted + 1
        if want > 0 then
          out[#out + 1] = b
          want = want - 1
          if max_weight > 0 then
            weighed = weighed + per_memory + math.min(#a, agent_cap) + math.min(#t, type_cap) +
                      math.min(clen, content_cap)
            if weighed > max_weight then want = 0 end
          end
        end
      end
    end
    if want == 0 and walk_counted >= count_to then break end
  end
end
if (want > 0 or walk_counted < count_to) and redis.call('ZCARD', key) > pos then more = 1 end
if count_to > 0 then counted = walk_counted end
local head = {tostring(pos), more, examined, counted, described}
for i = 1, 5 do table.insert(out, i, head[i]) end
return out
