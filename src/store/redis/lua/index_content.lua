
-- index_content: up to ARGV[1] memories of the namespace's pending zset (mi:pend, filled by remember)
-- into the trigram sets (mi:3:<trigram>), in one step, so no search sees a memory in neither place.
-- Memories forgotten meanwhile have left mi:pend already; one Redis expired is indexed from
-- its mx record like any other (unindex takes it out again). Returns how many are still pending.
local ids = redis.call('ZRANGE', P .. 'mi:pend', 0, tonumber(ARGV[1]) - 1)
for _, id in ipairs(ids) do
  local _, _, _, _, tri = mx_read(id)
  if tri then
    for i = 1, #tri, 3 do redis.call('SADD', P .. 'mi:3:' .. string.sub(tri, i, i + 2), id) end
  end
end
if #ids > 0 then redis.call('ZREM', P .. 'mi:pend', unpack(ids)) end
return redis.call('ZCARD', P .. 'mi:pend')
