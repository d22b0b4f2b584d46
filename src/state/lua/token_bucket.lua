-- Token bucket in one atomic round trip. Returns 1 when a token was taken, 0 when empty.
-- KEYS[1]: the bucket hash {tokens, ts}. ARGV: capacity, per_minute, at_ms
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local at = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or cap
local ts = tonumber(state[2]) or at
tokens = math.min(cap, tokens + math.max(0, at - ts) / 60000 * rate)
if at > ts then ts = at end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', string.format('%d', ts))
-- Keep the bucket until it would be full again (a missing bucket reads as full), plus slack.
local ttl = 3600000
if rate > 0 then
  ttl = math.ceil((cap - tokens) / rate * 60000) + 1000
end
redis.call('PEXPIRE', KEYS[1], ttl)
return taken
