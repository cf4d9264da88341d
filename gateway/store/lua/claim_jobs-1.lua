-- Leases up to ARGV[4] jobs due by ARGV[2] to owner ARGV[5] until ARGV[3], in state ARGV[6],
-- and returns the fields named from ARGV[7] on of each, in order.
-- Job hashes are addressed from ARGV[1] (their common prefix): they share the {jobs} hash tag
-- with KEYS[1], so on a cluster they live in the same slot as the declared key.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local claimed = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    redis.call('HSET', key, 'owner', ARGV[5], 'lease_until', ARGV[3], 'state', ARGV[6])
    redis.call('HINCRBY', key, 'attempts', 1)
    claimed[#claimed + 1] = redis.call('HMGET', key, unpack(ARGV, 7))
  end
end
-- The earliest time left in the schedule (a due time or a lease end), so the poller can sleep
-- until then instead of a fixed tick.
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {claimed, head[2] or false}
