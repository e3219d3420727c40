
local ids = redis.call('ZRANGEBYSCORE', P .. 'mi:exp', '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  if not unindex(id) then redis.call('ZREM', P .. 'mi:exp', id) end
end
return #ids
