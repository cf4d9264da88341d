-- Releases a key whose request is still in progress (it failed before answering).
if redis.call('HGET', KEYS[1], 'state') == 'in_progress' then
  return redis.call('DEL', KEYS[1])
end
return 0
