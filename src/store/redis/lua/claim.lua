local tk, th = task_keys(ARGV[1])
local agent, session, lease_until, now, token = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local t = load_task(tk)
if t and t.st == 'done' then return {'done', task_reply(t)} end
if token ~= '' and not token_current(t, token, agent, session) then return {'stale', task_reply(t)} end
local live = in_force(t, now)
if live and not held_by(t, agent, session) then return {'held', task_reply(t)} end
local renew = live or token ~= ''
local next = {a = agent, s = session, ca = renew and t.ca or now, lu = tonumber(lease_until),
              tok = renew and t.tok or ((t and t.tok or 0) + 1), st = 'claimed', da = '', r = ''}
save(tk, next)
if not renew then history(th, 'claimed', agent, session, now, next.tok) end
-- The holder takes part in its session (if stored), as a remember would record it.
if redis.call('EXISTS', P .. 's:' .. session) == 1 then
  redis.call('SADD', P .. 'sp:' .. session, agent)
  redis.call('ZADD', P .. 'si:a:' .. agent, 0, session)
end
return {renew and 'renewed' or 'claimed', task_reply(next)}
