
local now = ARGV[1]
local before = ARGV[2]
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local all = {}
for i = 1, tonumber(ARGV[6]) do all[i] = P .. ARGV[6 + i] end
if ARGV[5] ~= '' then all[#all + 1] = P .. 'si:st:' .. ARGV[5] end
-- One session only: the walk starts at it (or returns nothing) and ends there.
local only = ARGV[7 + tonumber(ARGV[6])]
if only ~= '' then before = only .. '\1' end
local hi = before == '' and '+' or '(' .. before
local drive, cost, drive_index = nil, nil, 0
for i, key in ipairs(all) do
  local c = redis.call('ZLEXCOUNT', key, '-', hi)
  if c == 0 then return {before, 0, 0} end
  if not cost or c < cost then drive, cost, drive_index = key, c, i end
end
drive = drive or (P .. 'si:all')
local next_id = lex_stream({drive}, hi, math.min(budget, math.max(limit + 1, 32)))

local out = {before, 0, 0}
local last, examined, more, found = before, 0, 0, 0
while true do
  if examined >= budget then more = 1; break end
  local id = next_id()
  if not id or (only ~= '' and id ~= only) then break end
  examined = examined + 1
  last = id
  local h = redis.call('HGETALL', P .. 's:' .. id)
  local ok = #h > 0
  if ok then
    for i, key in ipairs(all) do
      if i ~= drive_index and not redis.call('ZSCORE', key, id) then ok = false; break end
    end
  end
  if ok then
    local agents, count, last_activity = session_summary(id, now)
    out[#out + 1] = {h, agents, count, last_activity}
    found = found + 1
    if found >= limit then more = 1; break end
  end
end
out[1], out[2], out[3] = last, more, examined
return out
