
local out = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'all', 0, -1)) do
  local key = P .. 'k:' .. id
  if ARGV[1] == '' or redis.call('HGET', key, 'ns') == ARGV[1] then
    local h = redis.call('HGETALL', key)
    if #h > 0 then out[#out + 1] = h end
  end
end
return out
