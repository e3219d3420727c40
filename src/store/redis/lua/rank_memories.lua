
-- rank_memories, one bounded slice of a session's importance index (mi:sw:<session>, scored by
-- importance), walked from rank `from` down. Counts the live memories nothing superseded, and returns
-- the hashes of the first `want` of them and of every one tied in importance with the last of those
-- (`cut`, carried from slice to slice): the zset orders ties by id, the caller by time, then id.
local now = tonumber(ARGV[1])
local key = P .. 'mi:sw:' .. ARGV[2]
local from, want, budget = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
-- The cut travels as the score's text as Redis wrote it, so that it compares equal to itself exactly.
local cut_text = ARGV[6]
local cut = cut_text ~= '' and tonumber(cut_text) or nil
local out = {}
local pos, examined, counted, more = from, 0, 0, 0
while examined < budget do
  local entries = redis.call('ZREVRANGE', key, pos, pos + math.min(63, budget - examined - 1), 'WITHSCORES')
  if #entries == 0 then break end
  for i = 1, #entries, 2 do
    local id, score = entries[i], entries[i + 1]
    local importance = tonumber(score)
    pos, examined = pos + 1, examined + 1
    local m = P .. 'm:' .. id
    local f = redis.call('HMGET', m, 'ca', 'ea', 'sb')
    if f[1] and not f[3] and not (f[2] and tonumber(f[2]) <= now) then
      counted = counted + 1
      if want > 0 or (cut and importance == cut) then
        out[#out + 1] = redis.call('HGETALL', m)
        if want > 0 then
          want = want - 1
          if want == 0 then cut, cut_text = importance, score end
        end
      end
    end
  end
end
if examined >= budget and redis.call('ZCARD', key) > pos then more = 1 end
local head = {tostring(pos), more, examined, counted, cut_text}
for i = 1, 5 do table.insert(out, i, head[i]) end
return out
