
local P = KEYS[1]
local key = P .. 'tc:' .. ARGV[1]

local function encode(items)
  local parts = {}
  for i, v in ipairs(items) do parts[i] = #v .. ':' .. v end
  return table.concat(parts)
end

-- A stored claim as {agent, session, claimed_at, lease_until}; a malformed one reads as lapsed.
local function decode(s)
  local out, pos = {}, 1
  while pos <= #s do
    local colon = string.find(s, ':', pos, true)
    if not colon then break end
    local n = tonumber(string.sub(s, pos, colon - 1)) or 0
    out[#out + 1] = string.sub(s, colon + 1, colon + n)
    pos = colon + n + 1
  end
  return {agent = out[1] or '', session = out[2] or '', claimed_at = out[3] or '0',
          lease_until = tonumber(out[4] or '0') or 0}
end
