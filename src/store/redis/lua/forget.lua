
local id = ARGV[1]
local live = redis.call('EXISTS', P .. 'm:' .. id) == 1
local sid = unindex(id)
if sid and live then
  redis.call('PUBLISH', P .. 'events', 'm:' .. sid)
  return 1
end
return 0
