
local key = P .. 'k:' .. ARGV[1]
if redis.call('EXISTS', key) == 0 then return 0 end
redis.call('HSETNX', key, 'ra', ARGV[2])
return 1
