-- A finished generation, in this order: its webhook event appended to the outbox (KEYS[7],
-- trimmed to about ARGV[10] entries; ARGV[11] is the number of event arguments after it, 0 for
-- none) unless the job's end was reported already, its license cached (or dropped when
-- ARGV[3] is empty, an expired license), its rejection dropped, the job's activated_by copied to the activator key for ARGV[9] ms (0: no
-- expiry, empty: not kept), its job finished if ARGV[2] still owns it, the outcome ARGV[5]
-- published on channel ARGV[6], the license change on channel ARGV[7] (near caches), and an
-- audit event (the arguments after the webhook event) appended to the stream trimmed to about
-- ARGV[8] entries. Returns 1, or 0 when the audit event could not be written.
-- KEYS: license, negative, due set, job, audit stream, activator, outbox (several hash tags:
-- single server only). ARGV[4]: the license's lifetime in ms.
-- @include finish_job
-- @include append_event
local event_args = tonumber(ARGV[11])
if event_args > 0 and first_report(KEYS[4]) then
  append_event(KEYS[7], ARGV[10], 12, event_args)
end
if ARGV[3] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
redis.call('DEL', KEYS[2])
local activator = redis.call('HGET', KEYS[4], 'activated_by')
if activator and activator ~= '' and ARGV[9] ~= '' then
  if ARGV[9] == '0' then redis.call('SET', KEYS[6], activator)
  else redis.call('SET', KEYS[6], activator, 'PX', ARGV[9]) end
end
finish_job(KEYS[3], KEYS[4], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[6], ARGV[5])
redis.call('PUBLISH', ARGV[7], ARGV[1])
local audit_from = 12 + event_args
if #ARGV >= audit_from then
  local added = redis.pcall('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', unpack(ARGV, audit_from))
  if type(added) == 'table' and added.err then return 0 end
end
return 1
