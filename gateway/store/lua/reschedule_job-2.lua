-- KEYS: due set, job. ARGV: id, owner, due time, interval, when a create was last sent ('' leaves
-- it as is), the pending state's name.
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'owner', '', 'lease_until', '0', 'state', ARGV[6],
           'due_at', ARGV[3], 'interval', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'sent_at', ARGV[5]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
