
local id = ARGV[1]
local h = redis.call('HGETALL', P .. 'm:' .. id)
if #h == 0 and redis.call('EXISTS', P .. 'mx:' .. id) == 1 then unindex(id) end
return h
