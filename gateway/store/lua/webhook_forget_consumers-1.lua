-- Deletes the consumers of group ARGV[1] on the outbox stream KEYS[1] that hold no pending
-- entry and either have been idle ARGV[2] ms or more (their replica is gone: each round of a
-- live one reads) or are named ARGV[3] (a replica leaving; '' for none). Checked and deleted in
-- one step, so a consumer reading meanwhile cannot lose what it read; one deleted while its
-- replica lives is made again by that replica's next read. Returns how many were deleted; 0
-- when the stream or its group does not exist.
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return 0 end
local idle_ms = tonumber(ARGV[2])
local deleted = 0
for _, consumer in ipairs(consumers) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  local name = info['name']
  local gone = info['idle'] >= idle_ms or name == ARGV[3]
  if gone and #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, name) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    deleted = deleted + 1
  end
end
return deleted
