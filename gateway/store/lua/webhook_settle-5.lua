-- The end of one delivery attempt, only while owner ARGV[2] holds it: its fields (pairs from
-- ARGV[8] on) and its status ARGV[3] written; a retry time ARGV[4] reschedules it then in the
-- schedule KEYS[2]; without one (ARGV[4] empty: delivered or failed) it leaves the schedule
-- and the pending index KEYS[3] for its status's index KEYS[4] under its creation score ARGV[5] and keeps it
-- ARGV[6] ms. Entries of that index scored below ARGV[7] (past the retention) go too.
-- Returns 1 settled, 0 not ours any more (its lease ran out and another replica took it).
-- KEYS: delivery, schedule, pending index, status index, attempts in flight. ARGV[1]: the
-- delivery id.
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[1], 'status', ARGV[3], 'owner', '', unpack(ARGV, 8))
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
  return 1
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[7])
return 1
