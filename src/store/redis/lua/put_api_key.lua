
local id, hash = ARGV[1], ARGV[3]
if redis.call('EXISTS', P .. 'k:' .. id) == 1 or redis.call('EXISTS', P .. 'h:' .. hash) == 1 then
  return redis.error_reply('MT_CONFLICT an API key with this id or token exists already')
end
redis.call('HSET', P .. 'k:' .. id, 'id', id, 'ns', ARGV[2], 'h', hash, 'l', ARGV[4], 'ca', ARGV[5])
if ARGV[6] ~= '' then redis.call('HSET', P .. 'k:' .. id, 'ra', ARGV[6]) end
redis.call('SET', P .. 'h:' .. hash, id)
redis.call('ZADD', P .. 'all', ARGV[5], id)
return 1
