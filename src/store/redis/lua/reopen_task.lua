local tk, th = task_keys(ARGV[1])
local t = load_task(tk)
if not t or t.st ~= 'done' then return 0 end
t.st = 'free'
t.lu = tonumber(ARGV[4])
save(tk, t)
history(th, 'reopened', ARGV[2], ARGV[3], ARGV[4], t.tok)
return 1
