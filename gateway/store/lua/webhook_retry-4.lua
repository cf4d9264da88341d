-- An operator's retry of a delivery: pending again with a fresh retry schedule (its webhook id
-- unchanged), due at ARGV[2] in the schedule KEYS[2], moved from the failed index KEYS[4] to
-- the pending index KEYS[3] under its score. Returns 1, 0 unknown, -1 already delivered.
-- KEYS: delivery, schedule, pending index, failed index. ARGV[1]: the delivery id; ARGV[3] and
-- ARGV[4]: the names of the pending and delivered statuses.
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == ARGV[4] then return -1 end
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'tries', '0', 'next_at', ARGV[2], 'owner', '')
redis.call('PERSIST', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'score'), ARGV[1])
return 1
