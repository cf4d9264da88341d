-- Starts a request under an Idempotency-Key with fingerprint ARGV[1] (in progress for ARGV[2]
-- ms), or says why it cannot start; a done record comes back with its response.
local rec = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'headers', 'body')
if not rec[1] then
  redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if rec[2] ~= ARGV[1] then return {'mismatch'} end
if rec[1] ~= 'done' then return {'in_progress'} end
return {'done', rec[3], rec[4], rec[5]}
