-- Caches guild settings unless a newer version is already cached (compare-and-set).
-- KEYS[1]: the settings key. ARGV: {"version":..,"settings":..} JSON, version, ttl_ms
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, v = pcall(cjson.decode, cur)
  if ok and type(v) == 'table' and tonumber(v.version) and tonumber(v.version) > tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
