-- One delivery of an outbox event to one endpoint, unless it exists (the event was read again
-- after a replica died mid-way): its hash KEYS[1] (field/value pairs from ARGV[4] on), due at
-- ARGV[2] in the endpoint's schedule KEYS[2], listed under ARGV[3] in its pending index
-- KEYS[3]. Returns 1 created, 0 existed. ARGV[1]: the delivery id.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
