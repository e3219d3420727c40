
local id = ARGV[1]
local n = tonumber(ARGV[8])
if ARGV[7] == '1' then
  -- The smallest of the metadata zsets and the active zset drives a walk newest first; the other
  -- zsets are checked with ZSCORE. An empty one means nothing can match.
  local keys = {P .. 'si:st:active'}
  for i = 0, n - 1 do keys[#keys + 1] = P .. ARGV[11 + 3 * i] end
  local drive, cost = nil, nil
  for i, key in ipairs(keys) do
    local c = redis.call('ZCARD', key)
    if not cost or c < cost then drive, cost = i, c end
  end
  if cost > 0 then
    local next_id = lex_stream({keys[drive]}, '+', 32)
    for sid in next_id do
      local holds = true
      for i, key in ipairs(keys) do
        if i ~= drive and not redis.call('ZSCORE', key, sid) then holds = false; break end
      end
      if holds then return {sid, 1} end
    end
  end
end
local key = P .. 's:' .. id
if redis.call('EXISTS', key) == 1 then
  return redis.error_reply('MT_CONFLICT a session with id ' .. id .. ' exists already')
end
local fields = {'id', id, 'cb', ARGV[2], 'st', ARGV[3], 'ca', ARGV[4], 'ua', ARGV[5], 'ssx', '1'}
if ARGV[6] ~= '' then fields[#fields + 1] = 'cl'; fields[#fields + 1] = ARGV[6] end
for i = 0, n - 1 do
  local k, v, index = ARGV[9 + 3 * i], ARGV[10 + 3 * i], ARGV[11 + 3 * i]
  fields[#fields + 1] = 'md:' .. k
  fields[#fields + 1] = v
  redis.call('ZADD', P .. index, 0, id)
end
redis.call('HSET', key, unpack(fields))
redis.call('ZADD', P .. 'si:all', 0, id)
redis.call('ZADD', P .. 'si:st:' .. ARGV[3], 0, id)
redis.call('ZADD', P .. 'si:a:' .. ARGV[2], 0, id)
feed('session.created', ARGV[4], ARGV[2], id, id)
redis.call('SPUBLISH', P .. 'events', 's:' .. id)
return {id, 0}
