local tk, th = task_keys(ARGV[15])
local agent, session, token, now = ARGV[3], ARGV[2], ARGV[16], ARGV[17]
local t = load_task(tk)
if t and t.st == 'done' then return {'finished', 0, task_reply(t)} end
if token ~= '' and not token_current(t, token, agent, session) then return {'stale', 0, task_reply(t)} end
if in_force(t, now) and not held_by(t, agent, session) then return {'held', 0, task_reply(t)} end
local was_holder = t ~= nil and t.st == 'claimed' and held_by(t, agent, session)
local stored = remember()
if type(stored) == 'table' and stored.err then return stored end
local next = {a = agent, s = session, ca = was_holder and t.ca or now, lu = tonumber(now),
              tok = t and t.tok or 0, st = 'done', da = now, r = ARGV[1]}
save(tk, next)
history(th, 'done', agent, session, now, next.tok, ARGV[1])
feed('task.done', now, agent, session, ARGV[15])
return {'done', was_holder and 1 or 0, task_reply(next)}
