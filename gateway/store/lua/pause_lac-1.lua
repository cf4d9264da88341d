-- Holds every LAC call until ARGV[1] (Unix time in ms) and expires then. The later of the
-- stored and the new time wins, so a short Retry-After never cuts short a longer one that
-- another replica was given.
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local until_ms = tonumber(ARGV[1])
if until_ms <= current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
return 1
