-- Removes a job (done or failed), only while owner holds it unless owner is '': 1 removed.
local function finish_job(due_key, job_key, id, owner)
  if owner ~= '' and redis.call('HGET', job_key, 'owner') ~= owner then return 0 end
  local removed = redis.call('DEL', job_key)
  redis.call('ZREM', due_key, id)
  return removed
end
