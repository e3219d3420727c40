
local id = ARGV[1]
local key = P .. 's:' .. id
local status = redis.call('HGET', key, 'st')
if not status then return 0 end
if status == 'closed' then return 1 end
redis.call('HSET', key, 'st', 'closed', 'cl', ARGV[2], 'ua', ARGV[2])
redis.call('ZREM', P .. 'si:st:active', id)
redis.call('ZADD', P .. 'si:st:closed', 0, id)
feed('session.closed', ARGV[2], ARGV[3], id, id)
redis.call('SPUBLISH', P .. 'events', 's:' .. id)
return 1
