local tk, th = task_keys(ARGV[1])
local agent, session, now, token = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local t = load_task(tk)
if not in_force(t, now) or not held_by(t, agent, session) then return 0 end
if token ~= '' and tostring(t.tok) ~= token then return 0 end
t.st = 'free'
t.lu = tonumber(now)
save(tk, t)
history(th, 'released', agent, session, now, t.tok)
return 1
