
local ids = redis.call('ZRANGEBYSCORE', P .. 'mi:exp', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  if not unindex(id) then redis.call('ZREM', P .. 'mi:exp', id) end
end
-- Keeps the change feed within its retention (ARGV[3]: the oldest time kept; approximate trimming, whole
-- stream nodes at a time, so it stays cheap; read_changes hides what is older anyway).
if redis.call('EXISTS', P .. 'feed') == 1 then
  redis.call('XTRIM', P .. 'feed', 'MINID', '~', ARGV[3])
end
return #ids
