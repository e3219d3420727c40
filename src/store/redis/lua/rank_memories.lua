
-- rank_memories, one bounded slice of a session's importance index (mi:sw:<session>, scored by
-- importance; equal scores in id order, so walking it down is most important, then newest first),
-- from rank `from` down. Counts the live memories nothing superseded, up to `count_to` in all, and
-- returns the hashes of the first `want` of them.
local now = tonumber(ARGV[1])
local key = P .. 'mi:sw:' .. ARGV[2]
local from, want, budget, count_to = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
local pos, examined, counted, more = from, 0, 0, 0
while examined < budget and (want > 0 or counted < count_to) do
  local ids = redis.call('ZREVRANGE', key, pos, pos + math.min(63, budget - examined - 1))
  if #ids == 0 then break end
  for _, id in ipairs(ids) do
    pos, examined = pos + 1, examined + 1
    local m = P .. 'm:' .. id
    local f = redis.call('HMGET', m, 'ca', 'ea', 'sb')
    if f[1] and not f[3] and not (f[2] and tonumber(f[2]) <= now) then
      counted = counted + 1
      if want > 0 then
        out[#out + 1] = redis.call('HGETALL', m)
        want = want - 1
      end
      if want == 0 and counted >= count_to then break end
    end
  end
end
if (want > 0 or counted < count_to) and redis.call('ZCARD', key) > pos then more = 1 end
local head = {tostring(pos), more, examined, counted}
for i = 1, 4 do table.insert(out, i, head[i]) end
return out
