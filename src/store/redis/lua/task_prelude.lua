-- The task scripts' helpers, linked as the prelude's are (see there).
local function encode(items)
  local parts = {}
  for i, v in ipairs(items) do parts[i] = #v .. ':' .. v end
  return table.concat(parts)
end

local function task_keys(task_id) return P .. 'tk:' .. task_id, P .. 'th:' .. task_id end

-- The stored task, or nil: a, s (holder or finisher), ca, lu, tok, st (claimed | free | done), da, r.
local function load_task(tk)
  local v = redis.call('HMGET', tk, 'a', 's', 'ca', 'lu', 'tok', 'st', 'da', 'r')
  if not v[6] then return nil end
  return {a = v[1], s = v[2], ca = v[3], lu = tonumber(v[4]), tok = tonumber(v[5]), st = v[6],
          da = v[7] or '', r = v[8] or ''}
end

local function in_force(t, now) return t ~= nil and t.st == 'claimed' and t.lu > tonumber(now) end
local function held_by(t, agent, session) return t.a == agent and t.s == session end
-- The holder's token is still the newest: its lease may have run out, but nobody claimed since.
local function token_current(t, token, agent, session)
  return t ~= nil and t.st == 'claimed' and tostring(t.tok) == token and held_by(t, agent, session)
end

local function save(tk, t)
  redis.call('HSET', tk, 'a', t.a, 's', t.s, 'ca', t.ca, 'lu', tostring(t.lu), 'tok', tostring(t.tok),
             'st', t.st, 'da', t.da, 'r', t.r)
end

local function history(th, kind, agent, session, at, token, memory_id)
  redis.call('RPUSH', th, encode({kind, agent, session, tostring(at), tostring(token), memory_id or ''}))
  redis.call('LTRIM', th, -50, -1)
end

local function task_reply(t)
  if not t then return {'', '', '0', '0', '0', 'free', '', ''} end
  return {t.a, t.s, t.ca, tostring(t.lu), tostring(t.tok), t.st, t.da, t.r}
end
