-- Reads a sliding window without changing it.
-- KEYS[1]: the window's sorted set. ARGV: at_ms, window_ms
local at = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', at - window), '+inf')
return {#members, members}
