-- A fixed window of ARGV[1] ms: the first requests of a window start its clock; the count and
-- the time left come back in one round trip, so every replica shares the same window. ARGV[2]
-- requests are added at once (a replica sends its counts in batches).
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if n == tonumber(ARGV[2]) or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
