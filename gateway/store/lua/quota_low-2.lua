-- Whether the activations left (ARGV[2]) crossed below the threshold (ARGV[1]): the state key
-- KEYS[1] remembers 'low' or 'ok' for every replica, so one crossing makes one event, appended
-- to the outbox KEYS[2] (trimmed to about ARGV[3] entries, arguments from ARGV[4] on).
-- Returns 1 when this reading made the event, else 0.
-- @include append_event
local low = tonumber(ARGV[2]) < tonumber(ARGV[1])
local was = redis.call('GET', KEYS[1])
if not low then
  redis.call('SET', KEYS[1], 'ok')
  return 0
end
if was == 'low' then return 0 end
append_event(KEYS[2], ARGV[3], 4, #ARGV - 3)
redis.call('SET', KEYS[1], 'low')
return 1
