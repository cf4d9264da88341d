-- A failed generation, in this order: its webhook event appended to the outbox (KEYS[4],
-- trimmed to about ARGV[7] entries, the event's arguments from ARGV[8] on) unless the job's
-- end was reported already, the rejection
-- ARGV[3] cached for ARGV[4] ms, the job finished if ARGV[2] still owns it ('' for whoever
-- holds it), the outcome ARGV[5] published on channel ARGV[6].
-- KEYS: negative, due set, job, outbox (several hash tags: single server only).
-- @include finish_job
-- @include append_event
if #ARGV > 7 and first_report(KEYS[3]) then
  append_event(KEYS[4], ARGV[7], 8, #ARGV - 7)
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
finish_job(KEYS[2], KEYS[3], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[6], ARGV[5])
return 1
