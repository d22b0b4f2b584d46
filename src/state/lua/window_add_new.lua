-- Adds to a sliding window the members it does not hold yet; one atomic round trip.
-- KEYS[1]: the window's sorted set. ARGV: at_ms, window_ms, ttl_ms, member...
-- Returns the members this call added. Members already there keep their stamp.
local key = KEYS[1]
local at = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%d', at - tonumber(ARGV[2])))
local added = {}
for i = 4, #ARGV do
  if redis.call('ZADD', key, 'NX', at, ARGV[i]) == 1 then
    added[#added + 1] = ARGV[i]
  end
end
redis.call('PEXPIRE', key, ARGV[3])
return added
