-- Stores and schedules a job unless one exists for the activation: 1 created, 0 exists.
-- fields_from is the index in ARGV where the job's field/value pairs start. A job already
-- there with the creating request's nonce is that request's own (redis-py re-sends a command
-- whose answer timed out, and Redis may have run the first one): it counts as created.
local function create_job(due_key, job_key, id, due_at, retention_ms, creator, fields_from)
  if redis.call('EXISTS', job_key) == 1 then
    if creator ~= '' and redis.call('HGET', job_key, 'creator') == creator then return 1 end
    return 0
  end
  redis.call('HSET', job_key, unpack(ARGV, fields_from))
  redis.call('PEXPIRE', job_key, retention_ms)
  redis.call('ZADD', due_key, due_at, id)
  return 1
end
