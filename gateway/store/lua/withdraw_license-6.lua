-- A license withdrawn at LAC (deactivated, or its removal confirmed), in this order: its
-- webhook event appended to the outbox (KEYS[6], trimmed to about ARGV[3] entries, the event's
-- arguments from ARGV[4] on), its cached license, rejection and activator dropped, any job
-- finished, the change published on channel ARGV[2] (near caches). Returns the number of
-- cached entries (license, rejection) removed.
-- KEYS: license, negative, due set, job, activator, outbox (several hash tags: single server
-- only). ARGV[1]: the activation id.
-- @include finish_job
-- @include append_event
append_event(KEYS[6], ARGV[3], 4, #ARGV - 3)
local removed = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('DEL', KEYS[5])
finish_job(KEYS[3], KEYS[4], ARGV[1], '')
redis.call('PUBLISH', ARGV[2], ARGV[1])
return removed
