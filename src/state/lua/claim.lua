-- Claims KEYS[1] for ARGV[1] unless someone holds it: one atomic round trip.
-- ARGV[2]: time to live in ms. Returns the holder afterwards (ARGV[1] when this call won).
local held = redis.call('GET', KEYS[1])
if held then
  return held
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return ARGV[1]
