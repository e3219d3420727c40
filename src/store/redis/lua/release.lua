
local stored = redis.call('GET', key)
if not stored then return 0 end
local held = decode(stored)
if held.agent ~= ARGV[2] or held.session ~= ARGV[3] or held.lease_until <= tonumber(ARGV[4]) then
  return 0
end
redis.call('DEL', key)
return 1
