-- Appends a webhook event to the outbox stream: the field/value pairs ARGV[from..from+count-1],
-- the stream trimmed to about maxlen entries. Nothing when count is 0 (no endpoint wants it).
-- Called before the change it reports is written: should the append fail (Redis out of
-- memory), the script stops with nothing changed instead of a change without its event.
local function append_event(outbox, maxlen, from, count)
  if count == 0 then return end
  redis.call('XADD', outbox, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, from, from + count - 1))
end
-- Whether this is the first report of job_key's end: the job still exists and no script has
-- reported it yet. redis-py sends a script again when its answer timed out, and a holder whose
-- lease ran out may finish a job another holder finishes too: one event per job either way.
local function first_report(job_key)
  if redis.call('EXISTS', job_key) == 0 then return false end
  return redis.call('HSETNX', job_key, 'reported', '1') == 1
end
