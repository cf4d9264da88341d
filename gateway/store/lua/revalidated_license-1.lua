-- Writes what a revalidation learnt into the cached license KEYS[1], only while it still holds
-- the entry that was revalidated (the one stored at ARGV[1]): a license deactivated, replaced
-- or dropped meanwhile stays as it is. ARGV[2] is the new entry ('' drops the license), ARGV[3]
-- its lifetime in ms; ARGV[4] is the changed channel, told ARGV[5] (the activation id).
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, entry = pcall(cjson.decode, raw)
if not ok or type(entry) ~= 'table' or entry['stored_at'] ~= tonumber(ARGV[1]) then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
