-- Aggregated depth: the best ARGV[1] price levels of each side, in priority order.
-- KEYS: the book's keys, as apply.lua takes them; this reads KEY_BIDS, KEY_ASKS and KEY_ORDERS.
-- Returns { {price, qty, price, qty, ...} bids, {...} asks }. Read-only; one call sees one
-- consistent book. Records: matcher/codec.ts (see apply.lua).

local levels = tonumber(ARGV[1])
local PAGE = 128

local function side(key, sign)
  local result = {}
  local count, start, current = 0, 0, nil
  while true do
    local entries = redis.call('ZRANGE', key, start, start + PAGE - 1, 'WITHSCORES')
    if #entries == 0 then return result end
    local keys = {}
    for i = 1, #entries, 2 do
      keys[#keys + 1] = string.sub(entries[i], MEMBER_KEY_AT)
    end
    local records = redis.call('HMGET', KEYS[KEY_ORDERS], unpack(keys))
    for i = 1, #keys do
      local price = sign * tonumber(entries[2 * i])
      if price ~= current then
        if count == levels then return result end
        count = count + 1
        current = price
        result[2 * count - 1] = price
        result[2 * count] = 0
      end
      local o = cjson.decode(records[i])
      result[2 * count] = result[2 * count] + o[ORDER_QUANTITY] - o[ORDER_FILLED]
    end
    start = start + PAGE
  end
end

if not levels or levels < 1 then
  return { {}, {} }
end
return { side(KEYS[KEY_BIDS], -1), side(KEYS[KEY_ASKS], 1) }
