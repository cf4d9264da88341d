-- Leases deliveries due by ARGV[2] in one endpoint's schedule KEYS[1] to owner ARGV[5] until
-- ARGV[3], in due order: at most ARGV[4], and only as many as keep the endpoint's attempts in
-- flight on every replica (KEYS[2], delivery id -> lease end; leases ended by ARGV[7], now, no
-- longer count) within ARGV[6]. Returns the fields named from ARGV[8] on of each.
-- Delivery hashes are addressed from ARGV[1] (their common prefix): they share the {webhooks}
-- hash tag with KEYS[1], so on a cluster they live in the same slot as the declared keys.
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[7])
local room = tonumber(ARGV[6]) - redis.call('ZCARD', KEYS[2])
local limit = math.min(tonumber(ARGV[4]), room)
if limit <= 0 then return {} end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, limit)
local leased = {}
for i = 1, #ids do
  local hash = ARGV[1] .. ids[i]
  if redis.call('EXISTS', hash) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[3], ids[i])
    redis.call('ZADD', KEYS[2], ARGV[3], ids[i])
    redis.call('HSET', hash, 'owner', ARGV[5])
    redis.call('HINCRBY', hash, 'attempts', 1)
    leased[#leased + 1] = redis.call('HMGET', hash, unpack(ARGV, 8))
  else
    redis.call('ZREM', KEYS[1], ids[i])  -- its retention ran out meanwhile
  end
end
return leased
