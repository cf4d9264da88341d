-- KEYS: due set, job. ARGV: id, owner ('' for whoever holds it).
-- @include finish_job
return finish_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
