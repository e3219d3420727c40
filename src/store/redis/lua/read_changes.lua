local key = P .. 'feed'
local cursor, session, kinds_list = ARGV[1], ARGV[2], ARGV[3]
local limit, cutoff, budget = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])

-- "<ms>-<seq>" -> ms, seq (nil if it is not a stream id of ours).
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if not ms or #ms > 15 or #seq > 15 then return nil end
  return tonumber(ms), tonumber(seq)
end
local function before(a_ms, a_seq, b_ms, b_seq) return a_ms < b_ms or (a_ms == b_ms and a_seq < b_seq) end
local function text(ms, seq) return string.format('%.0f-%.0f', ms, seq) end

-- The floor: the newest entry that is gone (trimmed) or older than the retention (cutoff). Reading
-- after it gives every change kept; a cursor below it has missed changes.
local floor_ms, floor_seq, last_ms, last_seq = 0, 0, 0, 0
if redis.call('EXISTS', key) == 1 then
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info - 1, 2 do
    if info[i] == 'last-generated-id' then last_ms, last_seq = parse(info[i + 1]) end
    if info[i] == 'max-deleted-entry-id' then floor_ms, floor_seq = parse(info[i + 1]) end
  end
  if cutoff > 0 then
    local stale = redis.call('XREVRANGE', key, '(' .. string.format('%.0f', cutoff) .. '-0', '-', 'COUNT', 1)
    if #stale > 0 then
      local ms, seq = parse(stale[1][1])
      if before(floor_ms, floor_seq, ms, seq) then floor_ms, floor_seq = ms, seq end
    end
  end
end

local c_ms, c_seq = floor_ms, floor_seq
if cursor ~= '' then
  c_ms, c_seq = parse(cursor)
  if not c_ms then return {'malformed'} end
  if before(last_ms, last_seq, c_ms, c_seq) then return {'ahead', text(last_ms, last_seq)} end
  if before(c_ms, c_seq, floor_ms, floor_seq) then return {'expired', text(floor_ms, floor_seq)} end
end

local kinds = nil
if kinds_list ~= '' then
  kinds = {}
  for _, kind in ipairs(decode_list(kinds_list)) do kinds[kind] = true end
end

-- Walk the stream after the cursor, keeping the matches, until `limit` of them or `budget` entries.
local out, next_cursor, more, scanned = {'ok', '', 0}, text(c_ms, c_seq), 0, 0
local start, found, full = '(' .. text(c_ms, c_seq), 0, false
while not full do
  local batch = redis.call('XRANGE', key, start, '+', 'COUNT', 256)
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local id, f = entry[1], entry[2]
    local fields = {}
    for i = 1, #f - 1, 2 do fields[f[i]] = f[i + 1] end
    if (session == '' or fields.s == session) and (not kinds or kinds[fields.k]) then
      if found == limit then
        more, full = 1, true
        break
      end
      found = found + 1
      out[#out + 1] = {id, fields.k or '', fields.at or '0', fields.a or '', fields.s or '', fields.x or ''}
    end
    next_cursor = id
    scanned = scanned + 1
    if scanned >= budget then
      more, full = 1, true
      break
    end
  end
  start = '(' .. batch[#batch][1]
end
-- next_cursor: the last entry examined (a page that stopped at the limit or the budget ends at what it
-- covered; otherwise at the stream's end), or the cursor itself when nothing follows it.
out[2], out[3] = next_cursor, more
return out
