
local id = redis.call('GET', P .. 'h:' .. ARGV[1])
if not id then return {} end
return redis.call('HGETALL', P .. 'k:' .. id)
