
local agent, session, lease_until, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl = tonumber(lease_until) - tonumber(now)

local function take(claimed_at)
  -- The holder takes part in its session (if stored), as a remember would record it.
  if redis.call('EXISTS', P .. 's:' .. session) == 1 then
    redis.call('SADD', P .. 'sp:' .. session, agent)
    redis.call('ZADD', P .. 'si:a:' .. agent, 0, session)
  end
  return encode({agent, session, claimed_at, lease_until})
end

local fresh = encode({agent, session, now, lease_until})
if redis.call('SET', key, fresh, 'NX', 'PX', ttl) then
  take(now)
  return {1, 0, fresh}
end
local stored = redis.call('GET', key)
local held = decode(stored)
local in_force = held.lease_until > tonumber(now)
if in_force and (held.agent ~= agent or held.session ~= session) then return {0, 0, stored} end
local value = take(in_force and held.claimed_at or now)
redis.call('SET', key, value, 'PX', ttl)
return {1, in_force and 1 or 0, value}
