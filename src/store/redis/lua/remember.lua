
local id, sid, agent, typ = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local imp, ca, ea = ARGV[7], ARGV[8], ARGV[9]
local refused = session_refusal(sid)
if refused then return refused end
if redis.call('EXISTS', P .. 'mx:' .. id) == 1 or redis.call('EXISTS', P .. 'm:' .. id) == 1 then
  return redis.error_reply('MT_CONFLICT a memory with id ' .. id .. ' exists already')
end
-- Before the first index entry: a namespace's first memory fixes its layout. In layout 2 the memory gets
-- its number now, and its session's, tags', agent's, type's and importance band's postings take it:
-- searches by them need nothing else (index_content adds its trigrams later).
local layout = namespace_layout(ARGV[14])
local number = nil
if layout == 2 then
  local max_id = redis.call('GET', P .. 'mi:maxid')
  local new_max
  number, new_max = give_number(id, max_id, ARGV[6], {agent, typ, imp, sid})
  if new_max ~= max_id then redis.call('SET', P .. 'mi:maxid', new_max) end
end
local m = P .. 'm:' .. id
redis.call('SET', m, mem_encode({id = id, s = sid, a = agent, t = typ, c = ARGV[5], g = ARGV[6], i = imp, ca = ca,
                                 md = ARGV[10], ea = ea ~= '' and ea or nil,
                                 r = ARGV[11] == '1' and ARGV[12] or nil, n = ea == '' and number or nil}))
if ea ~= '' then
  -- Redis may delete the string before its index entries go: they are removed by this record.
  mx_write(id, sid, agent, typ, ARGV[6], '', number)
  -- Expiry is judged by the caller's clock (query.now). PEXPIREAT only frees memory: a deadline
  -- already past by the server's clock (a test's fake clock, clock skew) must not delete the memory
  -- before the caller's clock says so; queries and purge_expired handle those.
  local t = redis.call('TIME')
  local server_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if tonumber(ea) > server_ms then redis.call('PEXPIREAT', m, ea) end
  redis.call('ZADD', P .. 'mi:exp', ea, id)
  redis.call('ZADD', P .. 'mi:se:' .. sid, ea, id)
end
redis.call('ZADD', P .. 'mi:all', 0, id)
-- Windows of time find a memory by its id (mi:all) when the id tells its time, as a server's own do: only
-- the others need mi:time, which had cost 120 bytes a memory at a million (query_memories).
if not id_made_at(id, ca) then redis.call('ZADD', P .. 'mi:time', ca, id) end
-- Layout 2 finds memories by importance in the bands' postings (give_number).
if layout == 1 then redis.call('ZADD', P .. 'mi:imp', imp, id) end
-- A session's memories by importance (mi:sw) in both layouts; by id (mi:s) in layout 1 only: layout 2
-- has the session's posting.
if layout == 1 then redis.call('ZADD', P .. 'mi:s:' .. sid, 0, id) end
redis.call('ZADD', P .. 'mi:sw:' .. sid, imp, id)
-- Layout 1 keeps a sorted set of ids per agent, type and tag; layout 2 puts the memory's number into
-- postings of them instead, when index_content numbers it (namespace_layout says which a namespace has).
if layout == 1 then
  redis.call('ZADD', P .. 'mi:a:' .. agent, 0, id)
  redis.call('ZADD', P .. 'mi:t:' .. typ, 0, id)
  for _, tag in ipairs(decode_list(ARGV[6])) do redis.call('ZADD', P .. 'mi:g:' .. tag, 0, id) end
end
-- The trigrams go into postings later, in batches (index_content); searches read mi:pend meanwhile. In
-- layout 2 its number is its score: index_content takes memories in number order.
redis.call('ZADD', P .. 'mi:pend', number or 0, id)
redis.call('SADD', P .. 'sp:' .. sid, agent)
redis.call('ZADD', P .. 'si:a:' .. agent, 0, sid)

-- The sliding window: past max memories, drop the session's expired ones (by this memory's time),
-- then the least important (ties: the oldest), never the memory just written.
local max, evicted = tonumber(ARGV[13]), 0
if max > 0 then
  local excess = session_memories(sid, layout) - max
  if excess > 0 then
    for _, old in ipairs(redis.call('ZRANGEBYSCORE', P .. 'mi:se:' .. sid, '-inf', ca, 'LIMIT', 0, excess)) do
      if old ~= id then unindex(old); evicted = evicted + 1; excess = excess - 1 end
    end
  end
  while excess > 0 do
    local progress = false
    for _, old in ipairs(redis.call('ZRANGE', P .. 'mi:sw:' .. sid, 0, excess)) do
      if excess == 0 then break end
      if old ~= id then
        if not unindex(old) then
          redis.call('ZREM', P .. 'mi:sw:' .. sid, old)
          redis.call('ZREM', P .. 'mi:s:' .. sid, old)
        end
        evicted = evicted + 1; excess = excess - 1; progress = true
      end
    end
    if not progress then break end
  end
end
feed('memory.written', ca, agent, sid, id)
redis.call('SPUBLISH', P .. 'events', 'm:' .. sid)
return evicted
