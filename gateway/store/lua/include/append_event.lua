-- Appends a webhook event to the outbox stream: the field/value pairs ARGV[from..from+count-1],
-- the stream trimmed to about maxlen entries. Nothing when count is 0 (no endpoint wants it).
-- Called before the change it reports is written: should the append fail (Redis out of
-- memory), the script stops with nothing changed instead of a change without its event.
local function append_event(outbox, maxlen, from, count)
  if count == 0 then return end
  redis.call('XADD', outbox, 'MAXLEN', '~', maxlen, '*', unpack(ARGV, from, from + count - 1))
end
