
local id = ARGV[1]
local b = mem_read(id)
if not b and redis.call('EXISTS', P .. 'mx:' .. id) == 1 then unindex(id) end
return b
