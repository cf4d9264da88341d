-- Makes every job leased by ARGV[2] due at ARGV[3], in the pending state ARGV[4]; job hashes
-- are addressed from ARGV[1] as in claim_jobs-1. Walks every job: graceful shutdown is rare
-- and the number of pending generations is small.
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local released = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'owner') == ARGV[2] then
    redis.call('HSET', key, 'owner', '', 'lease_until', '0', 'state', ARGV[4], 'due_at', ARGV[3])
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    released = released + 1
  end
end
return released
