-- 1 when this is the first report of job KEYS[1]'s end (see append_event), else 0: the
-- cluster's completion and failure steps ask it before appending their webhook event.
-- @include append_event
if first_report(KEYS[1]) then return 1 end
return 0
