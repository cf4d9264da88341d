-- An activation request's first step, atomically: its cached license and rejection, and, when
-- there is neither, its job created unless one exists (-1 found, 0 job exists, 1 created).
-- KEYS: license, negative, due set, job (two hash tags: single-server deployments only).
-- ARGV: as create_job-2.
-- @include create_job
local found = redis.call('MGET', KEYS[1], KEYS[2])
if found[1] or found[2] then return {-1, found[1], found[2]} end
return {create_job(KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 5), false, false}
