-- Extends the lease of ARGV[2] to ARGV[3] (the job's due time follows it), and records a
-- create about to be sent at ARGV[4] unless it is ''. 0 when the lease is no longer held.
-- KEYS: due set, job.
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'lease_until', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'sent_at', ARGV[4]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
