
local key = P .. 'a:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'id', ARGV[1], 'd', ARGV[2], 'ca', ARGV[3])
elseif ARGV[2] ~= '' then
  redis.call('HSET', key, 'd', ARGV[2])
end
return redis.call('HGETALL', key)
