-- A request that created a job and never sent its create gives it back, due now (ARGV[3]),
-- marked as never sent and in the pending state ARGV[5]: only while the job is still the one
-- that request created (ARGV[4]) and still leased to it (ARGV[2]). KEYS: due set, job.
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
if ARGV[4] == '' or redis.call('HGET', KEYS[2], 'creator') ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[2], 'owner', '', 'lease_until', '0', 'state', ARGV[5],
           'due_at', ARGV[3], 'sent_at', '0')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
