
local id = ARGV[1]
local b = mem_read(id)
if not b then unindex(id) end  -- Redis expired it: its index entries go too (nothing if it never was)
return b
