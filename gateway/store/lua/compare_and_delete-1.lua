-- Deletes KEYS[1] only while it still holds ARGV[1]: nobody removes a lock or token they
-- do not own (the holder may have expired and been replaced meanwhile).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
