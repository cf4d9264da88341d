-- KEYS: due set, job. ARGV: id, due time, retention (ms), the creating request's nonce, then
-- the job's field/value pairs.
-- @include create_job
return create_job(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 5)
