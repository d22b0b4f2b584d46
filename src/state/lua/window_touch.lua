-- Sliding window update in one atomic round trip.
-- KEYS[1]: the window's sorted set (member -> time in ms).
-- ARGV: member, at_ms, window_ms, with_members ("1"/"0"), ttl_ms
local key = KEYS[1]
local at = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
redis.call('ZADD', key, at, ARGV[1])
-- Members stamped at or before at - window have fallen out (same rule as MemoryState).
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', at - window))
redis.call('PEXPIRE', key, ARGV[5])
local n = redis.call('ZCARD', key)
if ARGV[4] == '1' then
  return {n, redis.call('ZRANGE', key, 0, -1)}
end
return {n, {}}
