
-- write_memory: remember() (the remember script as a function) with deduplication and supersedes.
-- ARGV 1-14 as remember; 15 superseded_by|'' 16 valid_until|'' (a memory imported as superseded)
-- 17 dedup window ms (0: off) 18 dedup fingerprint 19 namespace (for messages) 20 n_supersedes ids...
-- then idempotency key|'' and its window ms.
-- Every check comes before the first write: a script that returns an error keeps what it wrote.
local id, sid, agent, typ, content, tags, ca_text = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[8]
local ca = tonumber(ca_text)
local sb, vu, window, fp, ns = ARGV[15], ARGV[16], tonumber(ARGV[17]), ARGV[18], ARGV[19]
local supersedes = {}
local n_supersedes = tonumber(ARGV[20])
for i = 1, n_supersedes do supersedes[i] = ARGV[20 + i] end
local idempotency_key, idempotency_window = ARGV[21 + n_supersedes] or '', tonumber(ARGV[22 + n_supersedes] or '0')

local refused = session_refusal(sid)
if refused then return refused end

-- A write retried with its idempotency key: the memory the key names, if it is still live, is the answer
-- (its key's PX is the window), whatever the new write says.
local ik = nil
if idempotency_key ~= '' then
  ik = P .. 'ik:' .. idempotency_key
  local first = redis.call('GET', ik)
  if first then
    local b = mem_read(first)
    if b then
      local first_ca, _, first_ea = mem_head(b)
      if first_ca > ca - idempotency_window and (not first_ea or first_ea > ca) then return {'duplicate', b} end
    end
  end
end

local function sorted_list(encoded)
  local items = decode_list(encoded)
  table.sort(items, less)
  return table.concat(items, '\0')
end

-- The newest memory written with this fingerprint is a duplicate if it is still live, not superseded,
-- within the window by the new memory's time, and equal field by field (a fingerprint collision never
-- merges two memories). Fingerprints are kept in hashes of one window of time each, by the memories'
-- created_at (P ddw:<window>:<n>, field fingerprint -> id, n = created_at // window, expiring two
-- windows after their first write): a memory within the window of this one is in this one's hash or
-- the one before. A hash field costs about half of what a key of its own with an expiry did (one per
-- memory, P dd:<fingerprint>, PX the window, as builds before kept them: those are read too, while they
-- last): 74 bytes less per memory at 100k.
local dd = P .. 'ddw:' .. window .. ':'
local dd_bucket = window > 0 and math.floor(ca / window) or 0
if window > 0 then
  local dup = redis.call('HGET', dd .. dd_bucket, fp) or redis.call('HGET', dd .. (dd_bucket - 1), fp) or
              redis.call('GET', P .. 'dd:' .. fp)
  if dup then
    local b = mem_read(dup)
    local f = b and mem_decode(b)
    local same = f and not f.sb and f.t == typ and f.c == content and f.a == agent and f.s == sid and
                 f.ca > ca - window and (not f.ea or f.ea > ca) and sorted_list(f.g) == sorted_list(tags)
    if same then
      -- With supersedes, only a memory that already supersedes all of them (the same call again):
      -- anything else would drop a supersede.
      for _, old in ipairs(supersedes) do
        local ob = mem_read(old)
        if not ob or select(4, mem_head(ob)) ~= dup then same = false; break end
      end
    end
    if same then return {'duplicate', b} end
  end
end

for _, old in ipairs(supersedes) do
  local ob = mem_read(old)
  local old_ea, old_sb = nil, nil
  if ob then old_ea, old_sb = select(3, mem_head(ob)) end
  if not ob or (old_ea and old_ea <= ca) then
    return redis.error_reply('MT_NOT_FOUND cannot supersede memory ' .. old ..
                             ': there is no such memory in namespace ' .. ns ..
                             ' (a memory can only supersede memories of its own namespace that have not' ..
                             ' expired or been forgotten); nothing was stored')
  end
  if old_sb then
    return redis.error_reply('MT_CONFLICT memory ' .. old .. ' is already superseded by ' .. old_sb ..
                             '; supersede ' .. old_sb .. ' instead (nothing was stored)')
  end
end

-- Marks memory `of` as superseded by `by` from `at`; returns its fields.
local function mark_superseded(of, by, at)
  local f = mem_decode(mem_read(of))
  f.sb, f.vu = by, at
  mem_write(of, f)
  return f
end

local stored = remember()
if type(stored) == 'table' and stored.err then return stored end
if sb ~= '' then
  mark_superseded(id, sb, vu)
  index_superseded(id, sid, ARGV[9])
end
for _, old in ipairs(supersedes) do
  local f = mark_superseded(old, id, ca_text)
  local old_ea = f.ea and string.format('%.0f', f.ea) or nil
  index_superseded(old, f.s, old_ea)
  -- The feed entry names the superseded memory and its session, and the agent that superseded it.
  feed_superseded(old, agent, f.s or '', ca_text)
end
if window > 0 then
  redis.call('HSET', dd .. dd_bucket, fp, id)
  redis.call('PEXPIRE', dd .. dd_bucket, 2 * window, 'NX')
end
if ik then redis.call('SET', ik, id, 'PX', idempotency_window) end
return {'stored', stored}
