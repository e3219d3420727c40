
local id = ARGV[1]
local live = redis.call('EXISTS', P .. 'm:' .. id) == 1
local sid = unindex(id)
if sid and live then
  feed('memory.forgotten', ARGV[2], ARGV[3], sid, id)
  redis.call('SPUBLISH', P .. 'events', 'm:' .. sid)
  return 1
end
return 0
