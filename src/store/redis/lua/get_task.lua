local tk, th = task_keys(ARGV[1])
return {task_reply(load_task(tk)), redis.call('LRANGE', th, 0, -1)}
