-- Applies place and cancel commands to a market's book, in order, each exactly once, with bounded
-- work per call.
--
-- KEYS: the book's keys (one hash tag, so one Redis Cluster slot), each at KEY_<NAME>:
--   BIDS (score -price), ASKS (score price), ORDERS, APPLIED, EVENTS (outbox stream: one entry
--     per call that emitted events, fields `seq` '<first>-<last>' and `cmds`, the JSON array of
--     the commands whose applied entries hold those events, in order; the events themselves are
--     stored once, in the applied entries, and the publisher reads them there),
--   COUNTERS (eventSeq, tradeSeq, bookSeq, queued, pending, forgottenTo),
--   CONFIG (market, minQty, maxQty, minNotional, retentionMs),
--   QUEUE (commands that arrived while a sweep was pending, in arrival order),
--   HISTORY (one HISTORY record per call that finished commands or orders, so that they are
--     forgotten once older than retentionMs; see trim)
-- ARGV: 1 maxMatchesPerCall (the work budget of the whole call), 2… the commands in order, each a
--   PLACE or CANCEL record.
-- Returns the applied entry of each command it finished, in order: a JSON array of its events
-- (NEW, TRADE, … records). Fewer entries than commands means the budget ran out at the first
-- command without one: the caller sends that command and the ones after it again to go on. One
-- call with several commands does exactly what one call per command would, in the same order; it
-- only saves the round trips and the per-call set-up.
--
-- Records are JSON arrays whose layout is defined once, in matcher/codec.ts: the wrapper fills
-- in the constants this script names before it loads it (ORDER_QUANTITY, the position of an
-- order record's quantity; TRADE_FORMAT, the string.format template of a TRADE event;
-- KIND_TRADE, its kind code).
--
-- Written for speed, as Redis runs the whole chunk on every call: few closures sharing one state
-- table (each closure and each captured local is rebuilt per call), string.format templates
-- instead of long concatenations, one HMGET for the records of every order the call's commands
-- name, the best price of each side remembered within the call. Numbers go through '%d', exact up
-- to 2^53 (cjson would print 14 significant digits and corrupt larger ticks). Each order record is
-- read and decoded at most once per call, and the call's writes to the orders and applied hashes
-- go out as one HSET each, at the end (with the records encoded once, however often the call
-- changed them).

local fmt, find, cjsonEncode, NULL = string.format, string.find, cjson.encode, cjson.null

-- A string as JSON: quoted as is when nothing in it needs escaping (ids nearly always), else as
-- cjson writes it (which escapes '/' too, so the same text either way).
local function encode(v)
  if type(v) == 'string' and not find(v, '[%c"\\/\128-\255]') then return '"' .. v .. '"' end
  return cjsonEncode(v)
end
local MAX_SAFE = 9007199254740991
-- How far the workflows' clock (issuedAt) and Redis's may disagree.
local CLOCK_SKEW_MS = 300000
-- Queued commands one call applies at most (the rest in the next calls).
local MAX_DEQUEUED_PER_CALL = 500

-- The key of the order a command names, in the orders hash and in its book member.
local function keyOf(c)
  return c.key or (c.userID .. '/' .. c.orderId)
end

-- A command from its PLACE or CANCEL record; nil when the text is neither.
local function readCommand(text)
  local a = cjson.decode(text)
  if type(a) ~= 'table' then return nil end
  local kind = a[COMMAND_CMD]
  if kind == CMD_PLACE and #a == PLACE_FIELDS then
    return { cmd = 'place', commandId = a[PLACE_COMMAND_ID], market = a[PLACE_MARKET],
      userID = a[PLACE_USER_ID], orderId = a[PLACE_ORDER_ID], side = a[PLACE_SIDE],
      orderType = a[PLACE_ORDER_TYPE], timeInForce = a[PLACE_TIME_IN_FORCE],
      selfTradePrevention = a[PLACE_SELF_TRADE_PREVENTION], price = a[PLACE_PRICE],
      quantity = a[PLACE_QUANTITY], attempt = a[PLACE_ATTEMPT], issuedAt = a[PLACE_ISSUED_AT] }
  elseif kind == CMD_CANCEL and #a == CANCEL_FIELDS then
    return { cmd = 'cancel', commandId = a[CANCEL_COMMAND_ID], market = a[CANCEL_MARKET],
      userID = a[CANCEL_USER_ID], orderId = a[CANCEL_ORDER_ID] }
  end
  return nil
end

local budget = tonumber(ARGV[1])
if not budget or budget < 1 then
  return redis.error_reply('ERR maxMatchesPerCall must be at least 1')
end
if #ARGV < 2 then
  return redis.error_reply('ERR no command to apply')
end
-- Every command is checked before anything is written: an error reply means nothing changed.
local cmds = {}
for i = 2, #ARGV do
  local c = readCommand(ARGV[i])
  if not c then
    return redis.error_reply('ERR argument ' .. i .. ': a command is a PLACE record of '
      .. PLACE_FIELDS .. ' fields or a CANCEL record of ' .. CANCEL_FIELDS)
  end
  local commandId, userID, orderId, market = c.commandId, c.userID, c.orderId, c.market
  if type(commandId) ~= 'string' or type(userID) ~= 'string' or type(orderId) ~= 'string'
    or type(market) ~= 'string' or commandId == '' or userID == '' or orderId == ''
    or market == '' then
    return redis.error_reply('ERR command needs string commandId, userID, orderId and market')
  end
  cmds[i - 1] = c
end

local counters = redis.call('HMGET', KEYS[KEY_COUNTERS], 'eventSeq', 'tradeSeq', 'bookSeq',
  'queued', 'pending', 'forgottenTo')
local config = redis.call('HMGET', KEYS[KEY_CONFIG], 'market', 'minQty', 'maxQty', 'minNotional',
  'retentionMs')
local clock = redis.call('TIME')
-- Each command's applied entry as the call began (false when none); S.applied has this call's.
local ids = {}
for i = 1, #cmds do ids[i] = cmds[i].commandId end
local known = redis.call('HMGET', KEYS[KEY_APPLIED], unpack(ids))
-- The records of the orders the commands name, as the call began (false when none): one read.
local orderKeys, prefetched = {}, {}
for i = 1, #cmds do
  local c = cmds[i]
  if c.market == config[1] then
    c.key = keyOf(c)
    orderKeys[#orderKeys + 1] = c.key
  end
end
if #orderKeys > 0 then
  local records = redis.call('HMGET', KEYS[KEY_ORDERS], unpack(orderKeys))
  for i = 1, #orderKeys do prefetched[orderKeys[i]] = records[i] end
end
-- The sweep left unfinished by an earlier call (a SWEEP record), as it was when this call began.
local pending = counters[5]

-- Everything the helpers share: one upvalue instead of many.
local S = {
  eventSeq = tonumber(counters[1]) or 0,
  tradeSeq = tonumber(counters[2]) or 0,
  bookSeq = tonumber(counters[3]) or 0,
  queued = tonumber(counters[4]) or 0,
  -- Queued commands this call has taken up.
  dequeued = 0,
  budget = budget,
  now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000),
  market = config[1],
  minQty = tonumber(config[2]),
  maxQty = tonumber(config[3]),
  minNotional = tonumber(config[4]),
  retentionMs = tonumber(config[5]),
  -- The newest time of what trim has forgotten (applied entries, finished orders), if anything.
  forgottenTo = tonumber(counters[6]),
  -- The command whose events are being produced (a pending sweep's, then the new one's).
  cid = nil,
  cidJ = nil,
  commandMarket = nil,
  out = nil,
  -- Where a sweep stopped for lack of budget, for the next call.
  nextPending = false,
  -- The unfinished sweep to resume before anything else (a SWEEP record), false once none is left.
  pending = pending,
  -- Whether the call got past "already applied" for any command (else it writes nothing).
  changed = false,
  -- Applied entries written by this call, by command id, and the ids in write order.
  applied = {},
  appliedIds = {},
  -- Order records read or written by this call, by key (decoded), and the keys to write back.
  orders = {},
  -- Records as the call began, read ahead for the commands' own orders (text, false when none).
  stored = prefetched,
  -- The best entry of each side ({member, score}, false when the side is empty) by key, as far
  -- as known: kept up to date by this call's ZADDs, forgotten when its member leaves.
  top = {},
  dirty = {},
  dirtyKeys = {},
  -- The outbox entry's command ids (JSON strings) and the seq of its first event.
  refs = {},
  firstSeq = nil,
  -- The commands this call finished (JSON strings), for the history.
  finished = {},
}

-- The seq of the next event of the book.
local function nextSeq()
  S.eventSeq = S.eventSeq + 1
  return S.eventSeq
end

-- The record being written: its fields set by position, then written with its kind's format
-- (one string.format call), so the field order is the layout's, not this script's.
local R = {}

-- Starts an event of the current command in R, about the order whose ids are uj and oj (JSON):
-- the caller sets its kind's fields, then push appends it to the command's events.
local function event(kind, orderSeq, uj, oj)
  R[EVENT_KIND] = kind
  R[EVENT_SEQ] = nextSeq()
  R[EVENT_ORDER_SEQ] = orderSeq
  R[EVENT_TIME] = S.now
  R[EVENT_USER_ID] = uj
  R[EVENT_ORDER_ID] = oj
end

local function push(format, n)
  local out = S.out
  out[#out + 1] = fmt(format, unpack(R, 1, n))
end

local function reject(uj, oj, code, msg, orderSeq)
  event(KIND_REJECTED, orderSeq, uj, oj)
  R[REJECTED_REASON] = code
  R[REJECTED_MSG] = encode(msg)
  R[REJECTED_MARKET] = encode(S.commandMarket)
  push(REJECTED_FORMAT, REJECTED_FIELDS)
end

-- ── Order records ───────────────────────────────────────────────────────────────────────────
-- ORDER records (matcher/codec.ts decodeOrder reads the same). A resting order's member is
-- MEMBER_FORMAT of its bookSeq and key. Enumerated fields are validated before a record exists,
-- so they need no escaping.

local function encodeOrder(o)
  local price, bookSeq = 'null', 0
  if o.price then price = fmt('%d', o.price) end
  if o.member then bookSeq = tonumber(string.sub(o.member, 1, MEMBER_KEY_AT - 2)) end
  R[ORDER_SIDE] = o.side
  R[ORDER_ORDER_TYPE] = o.orderType
  R[ORDER_TIME_IN_FORCE] = o.timeInForce
  R[ORDER_SELF_TRADE_PREVENTION] = o.selfTradePrevention
  R[ORDER_PRICE] = price
  R[ORDER_QUANTITY] = o.quantity
  R[ORDER_FILLED] = o.filled
  R[ORDER_STATUS] = o.status
  R[ORDER_ORDER_SEQ] = o.orderSeq
  R[ORDER_ATTEMPT] = o.attempt
  R[ORDER_BOOK_SEQ] = bookSeq
  R[ORDER_REASON] = o.reason or ''
  R[ORDER_USER_ID] = o.uj
  R[ORDER_ORDER_ID] = o.oj
  return fmt(ORDER_FORMAT, unpack(R, 1, ORDER_FIELDS))
end

-- The record under key, decoded, with its key and its ids as JSON (uj, oj) for events.
local function decodeOrder(key, text)
  local f = cjson.decode(text)
  local price, member, reason = f[ORDER_PRICE], nil, nil
  local bookSeq, userID, orderId = f[ORDER_BOOK_SEQ], f[ORDER_USER_ID], f[ORDER_ORDER_ID]
  if price == NULL then price = nil end
  if bookSeq ~= 0 then member = fmt(MEMBER_FORMAT, bookSeq, key) end
  if f[ORDER_REASON] ~= '' then reason = f[ORDER_REASON] end
  -- One constructor (member and reason too, even when nil): the table is sized once.
  return { key = key, uj = encode(userID), oj = encode(orderId), userID = userID,
    orderId = orderId, side = f[ORDER_SIDE], orderType = f[ORDER_ORDER_TYPE],
    timeInForce = f[ORDER_TIME_IN_FORCE], selfTradePrevention = f[ORDER_SELF_TRADE_PREVENTION],
    price = price, quantity = f[ORDER_QUANTITY], filled = f[ORDER_FILLED],
    status = f[ORDER_STATUS], orderSeq = f[ORDER_ORDER_SEQ], attempt = f[ORDER_ATTEMPT],
    member = member, reason = reason }
end

-- Marks the record changed: written back (once) at the end of the call.
local function saveOrder(o)
  local key = o.key
  S.orders[key] = o
  if not S.dirty[key] then
    S.dirty[key] = true
    local keys = S.dirtyKeys
    keys[#keys + 1] = key
  end
end

-- The order record under key (decoded, shared by the whole call), or nil when there is none.
local function getOrder(key)
  local o = S.orders[key]
  if o then return o end
  local json = S.stored[key]
  if json == nil then json = redis.call('HGET', KEYS[KEY_ORDERS], key) end
  if not json then return nil end
  o = decodeOrder(key, json)
  S.orders[key] = o
  return o
end

-- ── State changes, each with its event ──────────────────────────────────────────────────────

local function expire(o, reason)
  o.orderSeq = o.orderSeq + 1
  o.status = 'EXPIRED'
  o.reason = reason
  event(KIND_EXPIRED, o.orderSeq, o.uj, o.oj)
  R[EXPIRED_REASON] = reason
  R[EXPIRED_FILLED_QTY] = o.filled
  R[EXPIRED_EXPIRED_QTY] = o.quantity - o.filled
  push(EXPIRED_FORMAT, EXPIRED_FIELDS)
end

-- One side of trade S.tradeSeq, with its TRADE event.
local function fill(o, qty, price, maker)
  o.filled = o.filled + qty
  o.orderSeq = o.orderSeq + 1
  if o.filled == o.quantity then o.status = 'FILLED' else o.status = 'PARTIALLY_FILLED' end
  event(KIND_TRADE, o.orderSeq, o.uj, o.oj)
  R[TRADE_TRADE_SEQ] = S.tradeSeq
  R[TRADE_SIDE] = o.side
  R[TRADE_LAST_QTY] = qty
  R[TRADE_LAST_PRICE] = price
  R[TRADE_MAKER] = maker
  R[TRADE_FILLED_QTY] = o.filled
  R[TRADE_LEAVES_QTY] = o.quantity - o.filled
  push(TRADE_FORMAT, TRADE_FIELDS)
end

-- The best entry of the side under key ({member, score}), false when the side is empty.
local function best(key)
  local top = S.top[key]
  if top == nil then
    local entry = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    top = entry[1] ~= nil and { entry[1], tonumber(entry[2]) }
    S.top[key] = top
  end
  return top
end

-- Takes an order off the book (the side under key).
local function unbook(key, o)
  redis.call('ZREM', key, o.member)
  local top = S.top[key]
  if top and top[1] == o.member then S.top[key] = nil end
  o.member = nil
end

-- ── The sweep: the taker against the opposite side, resumable ───────────────────────────────
-- s.phase 'fok' walks the book read-only (s.cursor, s.acc) to decide whether the whole quantity
-- is available; 'match' trades. Every maker looked at costs one unit of budget. Returns true when
-- the taker's story for this command is complete, false when the budget ran out.

local function sweep(t, s)
  local buy, limit, stp = t.side == 'BUY', t.price, t.selfTradePrevention
  local opp = KEYS[KEY_BIDS]
  if buy then opp = KEYS[KEY_ASKS] end
  if s.phase == 'fok' then
    local need = t.quantity - t.filled
    while s.acc < need do
      local entry = redis.call('ZRANGE', opp, s.cursor, s.cursor, 'WITHSCORES')
      local ok = entry[1] ~= nil
      if ok and limit then
        local p = tonumber(entry[2])
        if buy then ok = p <= limit else ok = -p >= limit end
      end
      if not ok then
        expire(t, 'FOK_NOT_FILLABLE')
        return true
      end
      if S.budget <= 0 then return false end
      S.budget = S.budget - 1
      local maker = getOrder(string.sub(entry[1], MEMBER_KEY_AT))
      if maker.userID == t.userID and stp ~= 'NONE' then
        if stp ~= 'EXPIRE_MAKER' then
          expire(t, 'FOK_NOT_FILLABLE')
          return true
        end
      else
        s.acc = s.acc + maker.quantity - maker.filled
      end
      s.cursor = s.cursor + 1
    end
    s.phase = 'match'
  end
  while t.filled < t.quantity do
    local entry = best(opp)
    local ok = entry ~= false
    if ok and limit then
      local p = entry[2]
      if buy then ok = p <= limit else ok = -p >= limit end
    end
    if not ok then break end
    if S.budget <= 0 then return false end
    S.budget = S.budget - 1
    local maker = getOrder(string.sub(entry[1], MEMBER_KEY_AT))
    if maker.userID == t.userID and stp ~= 'NONE' then
      if stp ~= 'EXPIRE_MAKER' then expire(t, 'SELF_TRADE_PREVENTION') end
      if stp ~= 'EXPIRE_TAKER' then
        unbook(opp, maker)
        expire(maker, 'SELF_TRADE_PREVENTION')
        saveOrder(maker)
      end
      if stp ~= 'EXPIRE_MAKER' then return true end
    else
      local qty = math.min(t.quantity - t.filled, maker.quantity - maker.filled)
      S.tradeSeq = S.tradeSeq + 1
      fill(t, qty, maker.price, 0)
      fill(maker, qty, maker.price, 1)
      if maker.status == 'FILLED' then unbook(opp, maker) end
      saveOrder(maker)
    end
  end
  if t.filled < t.quantity then
    if t.timeInForce == 'GTC' then
      S.bookSeq = S.bookSeq + 1
      local member, key, score = fmt(MEMBER_FORMAT, S.bookSeq, t.key), KEYS[KEY_ASKS], t.price
      if buy then key, score = KEYS[KEY_BIDS], -score end
      redis.call('ZADD', key, fmt('%d', score), member)
      t.member = member
      -- Equal scores sort by member, and members rise with bookSeq: a tie is not the new best.
      local top = S.top[key]
      if top == false or (top and score < top[2]) then S.top[key] = { member, score } end
    else
      expire(t, 'NO_LIQUIDITY')
    end
  end
  return true
end

-- Runs (or resumes) a taker's sweep; on a budget stop remembers where, for the next call.
local function runSweep(t, s)
  local done = sweep(t, s)
  saveOrder(t)
  if not done then
    R[SWEEP_COMMAND_ID] = S.cidJ
    R[SWEEP_ORDER_KEY] = encode(t.key)
    R[SWEEP_PHASE] = s.phase
    R[SWEEP_CURSOR] = s.cursor
    R[SWEEP_ACC] = s.acc
    S.nextPending = fmt(SWEEP_FORMAT, unpack(R, 1, SWEEP_FIELDS))
  end
end

-- ── Commands ────────────────────────────────────────────────────────────────────────────────

local function isWhole(v, min)
  return type(v) == 'number' and v == math.floor(v) and v >= min and v <= MAX_SAFE
end

local function place(c)
  local key, uj, oj = keyOf(c), encode(c.userID), encode(c.orderId)
  if c.market ~= S.market then
    return reject(uj, oj, 'UNKNOWN_MARKET', 'no book for market ' .. c.market, 1)
  end
  local price, attempt = c.price, c.attempt
  if price == NULL then price = nil end
  if attempt == nil or attempt == NULL then attempt = 0 end

  local r = getOrder(key)
  if not r and S.forgottenTo then
    -- Its order may have existed, finished and been forgotten: placed again, it would trade twice.
    -- A place is issued before it is applied, so one issued after what was forgotten (give or
    -- take the clocks' skew) cannot be such an order. Without issuedAt: refused.
    local issuedAt = c.issuedAt
    if type(issuedAt) ~= 'number' then issuedAt = 0 end
    if issuedAt <= S.forgottenTo + CLOCK_SKEW_MS then
      return reject(uj, oj, 'STALE_COMMAND', fmt('issued at %d, before %d: what the book has '
        .. 'forgotten by then may include this order; not placed', issuedAt,
        S.forgottenTo + CLOCK_SKEW_MS), 1)
    end
  end
  if r then
    -- A MARKET/IOC remainder that found no liquidity, sent again by its workflow.
    if r.status == 'EXPIRED' and r.reason == 'NO_LIQUIDITY' and isWhole(attempt, 0)
      and attempt > r.attempt and c.side == r.side and c.orderType == r.orderType
      and c.timeInForce == r.timeInForce and c.selfTradePrevention == r.selfTradePrevention
      and price == r.price and c.quantity == r.quantity - r.filled then
      r.attempt = attempt
      r.reason = nil
      local phase = 'match'
      if r.timeInForce == 'FOK' then phase = 'fok' end
      return runSweep(r, { phase = phase, cursor = 0, acc = 0 })
    end
    return reject(uj, oj, 'DUPLICATE_ORDER_ID', 'orderId ' .. c.orderId .. ' is already used by '
      .. c.userID, 0)
  end

  local side, orderType, tif, stp = c.side, c.orderType, c.timeInForce, c.selfTradePrevention
  if side ~= 'BUY' and side ~= 'SELL' then
    return reject(uj, oj, 'INVALID_ORDER', 'side must be BUY or SELL', 1)
  end
  if orderType ~= 'LIMIT' and orderType ~= 'MARKET' and orderType ~= 'LIMIT_MAKER' then
    return reject(uj, oj, 'INVALID_ORDER', 'orderType must be LIMIT, MARKET or LIMIT_MAKER', 1)
  end
  if tif ~= 'GTC' and tif ~= 'IOC' and tif ~= 'FOK' then
    return reject(uj, oj, 'INVALID_ORDER', 'timeInForce must be GTC, IOC or FOK', 1)
  end
  if stp ~= 'EXPIRE_MAKER' and stp ~= 'EXPIRE_TAKER' and stp ~= 'EXPIRE_BOTH' and stp ~= 'NONE' then
    return reject(uj, oj, 'INVALID_ORDER',
      'selfTradePrevention must be EXPIRE_MAKER, EXPIRE_TAKER, EXPIRE_BOTH or NONE', 1)
  end
  if not isWhole(attempt, 0) then
    return reject(uj, oj, 'INVALID_ORDER', 'attempt must be a non-negative integer', 1)
  end
  if orderType == 'MARKET' and tif == 'GTC' then
    return reject(uj, oj, 'INVALID_ORDER', 'a MARKET order is IOC or FOK, never GTC', 1)
  end
  if orderType == 'LIMIT_MAKER' and tif ~= 'GTC' then
    return reject(uj, oj, 'INVALID_ORDER', 'a LIMIT_MAKER order rests on the book: GTC only', 1)
  end
  local qty = c.quantity
  if not isWhole(qty, 1) or qty < S.minQty or qty > S.maxQty then
    return reject(uj, oj, 'INVALID_QUANTITY', fmt(
      'quantity must be a whole number of steps from %d to %d', S.minQty, S.maxQty), 1)
  end
  if orderType == 'MARKET' then
    if price ~= nil then
      return reject(uj, oj, 'INVALID_PRICE', 'a MARKET order takes no price', 1)
    end
  else
    if not isWhole(price, 1) then
      return reject(uj, oj, 'INVALID_PRICE', 'price must be a positive whole number of ticks', 1)
    end
    -- Both factors are below 2^53 and rounding is monotonic, so the comparison with an integer
    -- threshold below 2^53 is exact even when the product itself is not.
    if price * qty < S.minNotional then
      return reject(uj, oj, 'MIN_NOTIONAL', fmt(
        'price * quantity is below the minimum notional of %d', S.minNotional), 1)
    end
    if orderType == 'LIMIT_MAKER' then
      local opp = KEYS[KEY_BIDS]
      if side == 'BUY' then opp = KEYS[KEY_ASKS] end
      local top = best(opp)
      if top and ((side == 'BUY' and top[2] <= price) or (side == 'SELL' and -top[2] >= price)) then
        return reject(uj, oj, 'WOULD_CROSS', 'a LIMIT_MAKER order would trade at once', 1)
      end
    end
  end

  -- NEW, then the sweep. One constructor: the record's table is sized once.
  event(KIND_NEW, 1, uj, oj)
  R[NEW_SIDE] = side
  R[NEW_ORDER_TYPE] = orderType
  R[NEW_TIME_IN_FORCE] = tif
  if price then R[NEW_PRICE] = fmt('%d', price) else R[NEW_PRICE] = 'null' end
  R[NEW_QUANTITY] = qty
  push(NEW_FORMAT, NEW_FIELDS)
  local o = { key = key, uj = uj, oj = oj, userID = c.userID, orderId = c.orderId, side = side,
    orderType = orderType, timeInForce = tif, selfTradePrevention = stp, price = price,
    quantity = qty, filled = 0, status = 'NEW', orderSeq = 1, attempt = attempt }
  local phase = 'match'
  if tif == 'FOK' then phase = 'fok' end
  runSweep(o, { phase = phase, cursor = 0, acc = 0 })
end

local function cancel(c)
  local o = c.market == S.market and getOrder(keyOf(c))
  if not o or not o.member then
    event(KIND_CANCEL_REJECTED, 0, encode(c.userID), encode(c.orderId))
    R[CANCEL_REJECTED_REASON] = 'UNKNOWN_ORDER'
    R[CANCEL_REJECTED_MSG] = encode('no open order ' .. c.orderId .. ' of ' .. c.userID)
    R[CANCEL_REJECTED_MARKET] = encode(S.commandMarket)
    return push(CANCEL_REJECTED_FORMAT, CANCEL_REJECTED_FIELDS)
  end
  if o.side == 'BUY' then unbook(KEYS[KEY_BIDS], o) else unbook(KEYS[KEY_ASKS], o) end
  o.status = 'CANCELED'
  o.orderSeq = o.orderSeq + 1
  event(KIND_CANCELED, o.orderSeq, o.uj, o.oj)
  R[CANCELED_FILLED_QTY] = o.filled
  push(CANCELED_FORMAT, CANCELED_FIELDS)
  saveOrder(o)
end

-- ── Main ──────────────────────────────────────────────────────────────────────────────────

-- Writes the call's changes: order records, applied entries, the outbox entry and the counters.
local function flush()
  -- Changed records, and among them the orders that will never change again (closed: an
  -- unmatched remainder may still be re-placed, so it is not).
  local n = #S.dirtyKeys
  local closed = {}
  if n > 0 then
    local args = {}
    for i = 1, n do
      local key = S.dirtyKeys[i]
      local o = S.orders[key]
      args[2 * i - 1] = key
      args[2 * i] = encodeOrder(o)
      local status = o.status
      if status == 'FILLED' or status == 'CANCELED'
        or (status == 'EXPIRED' and o.reason ~= 'NO_LIQUIDITY') then
        closed[#closed + 1] = encode(key)
      end
    end
    redis.call('HSET', KEYS[KEY_ORDERS], unpack(args))
  end
  n = #S.appliedIds
  if n > 0 then
    local args = {}
    for i = 1, n do
      local id = S.appliedIds[i]
      args[2 * i - 1] = id
      args[2 * i] = S.applied[id]
    end
    redis.call('HSET', KEYS[KEY_APPLIED], unpack(args))
  end
  if S.firstSeq then
    redis.call('XADD', KEYS[KEY_EVENTS], '*', 'seq', fmt('%d-%d', S.firstSeq, S.eventSeq), 'cmds',
      '[' .. table.concat(S.refs, ',') .. ']')
  end
  if #S.finished > 0 or #closed > 0 then
    R[HISTORY_TIME] = S.now
    R[HISTORY_EVENT_SEQ] = S.eventSeq
    R[HISTORY_COMMAND_IDS] = '[' .. table.concat(S.finished, ',') .. ']'
    R[HISTORY_ORDER_KEYS] = '[' .. table.concat(closed, ',') .. ']'
    redis.call('RPUSH', KEYS[KEY_HISTORY], fmt(HISTORY_FORMAT, unpack(R, 1, HISTORY_FIELDS)))
  end
  if not S.changed then return end
  redis.call('HSET', KEYS[KEY_COUNTERS], 'eventSeq', fmt('%d', S.eventSeq), 'tradeSeq',
    fmt('%d', S.tradeSeq), 'bookSeq', fmt('%d', S.bookSeq), 'queued', fmt('%d', S.queued))
  if S.nextPending then
    redis.call('HSET', KEYS[KEY_COUNTERS], 'pending', S.nextPending)
  elseif pending and not S.pending then
    redis.call('HDEL', KEYS[KEY_COUNTERS], 'pending')
  end
end

-- Records a command's applied entry, written at the end of the call.
local function setApplied(id, entry)
  if S.applied[id] == nil then
    local ids = S.appliedIds
    ids[#ids + 1] = id
  end
  S.applied[id] = entry
end

-- Writes the current command's applied entry: its events when finished, else the in-progress
-- marker with the events so far. Returns the finished entry, or nil while a sweep is pending.
local function finish(prior)
  local events = table.concat(S.out, ',')
  if prior ~= '' then
    if events == '' then events = prior else events = prior .. ',' .. events end
  end
  local entry
  if S.nextPending then
    entry = IN_PROGRESS .. events .. ']}'
  else
    entry = '[' .. events .. ']'
  end
  setApplied(S.cid, entry)
  if #S.out > 0 then
    local refs = S.refs
    if not S.firstSeq then S.firstSeq = S.eventSeq - #S.out + 1 end
    refs[#refs + 1] = S.cidJ
  end
  if S.nextPending then return nil end
  local finished = S.finished
  finished[#finished + 1] = S.cidJ
  return entry
end

-- ── Retention ───────────────────────────────────────────────────────────────────────────────
-- A finished command's applied entry answers redeliveries with the first outcome and holds its
-- events until the publisher has sent them; a closed order's record answers later commands for
-- it. Both are forgotten (with the rest of their history entry) once older than retentionMs and
-- once every event up to the entry's eventSeq has left the outbox (the publisher deletes entries
-- in order after SNS took them). What a redelivery meets after that changes nothing: a cancel
-- finds no open order (CANCEL_REJECTED, orderSeq 0); a place issued before forgottenTo is
-- refused (STALE_COMMAND), since its order may be one of those forgotten. At most two history
-- entries go per call (one comes per call), so the work stays bounded.
local function trim()
  local published
  for _ = 1, 2 do
    local text = redis.call('LINDEX', KEYS[KEY_HISTORY], 0)
    if not text then return end
    local entry = cjson.decode(text)
    local time, eventSeq = entry[HISTORY_TIME], entry[HISTORY_EVENT_SEQ]
    local ids, orderKeys = entry[HISTORY_COMMAND_IDS], entry[HISTORY_ORDER_KEYS]
    if time > S.now - S.retentionMs then return end
    if published == nil then
      -- The last event before the first one still in the outbox (its entry's seq is
      -- '<first>-<last>').
      local first = redis.call('XRANGE', KEYS[KEY_EVENTS], '-', '+', 'COUNT', 1)[1]
      published = math.huge
      if first then
        local f = first[2]
        published = -1
        for i = 1, #f - 1, 2 do
          if f[i] == 'seq' then published = tonumber(string.match(f[i + 1], '^(%d+)')) - 1 end
        end
      end
    end
    if eventSeq > published then return end
    redis.call('LPOP', KEYS[KEY_HISTORY])
    if #ids > 0 then redis.call('HDEL', KEYS[KEY_APPLIED], unpack(ids)) end
    if #orderKeys > 0 then redis.call('HDEL', KEYS[KEY_ORDERS], unpack(orderKeys)) end
    if not S.forgottenTo or time > S.forgottenTo then
      S.forgottenTo = time
      redis.call('HSET', KEYS[KEY_COUNTERS], 'forgottenTo', fmt('%d', time))
    end
  end
end

local function applyCommand(c)
  S.cid, S.cidJ, S.commandMarket, S.out = c.commandId, encode(c.commandId), c.market, {}
  if c.cmd == 'place' then place(c) else cancel(c) end
  return finish('')
end

-- Work is left over: the i-th command waits its turn in the queue (once), and the caller sends it
-- again. Commands are thus applied in the order they reached Redis, whoever sent them.
local function defer(i, stored)
  if not stored then
    redis.call('RPUSH', KEYS[KEY_QUEUE], ARGV[i + 1])
    setApplied(cmds[i].commandId, QUEUED)
    S.queued = S.queued + 1
  end
  return nil
end

-- Applies the i-th command of this call (after whatever must come before it). Returns its
-- finished applied entry, or nil when the work budget ran out: the call ends there, and the caller
-- sends this command (and those after it) again. false and a message when the state is corrupt.
local function step(i)
  local c = cmds[i]
  local commandId = c.commandId
  -- Exactly once: a finished command answers with its stored events and changes nothing.
  local stored = S.applied[commandId]
  if stored == nil then stored = known[i] end
  if stored and string.byte(stored, 1) == 91 then -- '['
    return stored
  end
  S.changed = true

  -- 1. A sweep left unfinished by an earlier call comes first: nothing may interleave with it.
  if S.pending then
    local p = cjson.decode(S.pending)
    local sweepId = p[SWEEP_COMMAND_ID]
    S.cid, S.cidJ, S.commandMarket, S.out = sweepId, encode(sweepId), S.market, {}
    local prior = string.sub(S.applied[sweepId] or redis.call('HGET', KEYS[KEY_APPLIED], sweepId),
      #IN_PROGRESS + 1, -3)
    runSweep(getOrder(p[SWEEP_ORDER_KEY]),
      { phase = p[SWEEP_PHASE], cursor = p[SWEEP_CURSOR], acc = p[SWEEP_ACC] })
    local entry = finish(prior)
    if not entry then return defer(i, stored) end
    S.pending = false
    if sweepId == commandId then return entry end
  end

  -- 2. Then the commands that arrived while it was pending, in arrival order.
  -- A command that matches nothing costs no budget, so the count is bounded too: the call's
  -- writes go out as one command each, whose arguments Lua's unpack caps (8,000).
  while S.queued > 0 do
    if S.budget <= 0 or S.dequeued >= MAX_DEQUEUED_PER_CALL then
      -- This command may be among those just taken up: then it is done (the rest came later).
      local entry = S.applied[commandId]
      if entry and string.byte(entry, 1) == 91 then return entry end
      return defer(i, stored)
    end
    local queued = redis.call('LPOP', KEYS[KEY_QUEUE])
    S.queued = S.queued - 1
    S.dequeued = S.dequeued + 1
    if not applyCommand(readCommand(queued)) then return defer(i, stored) end
  end

  -- 3. Then this command, unless it was queued and has just been applied.
  if stored then
    local entry = S.applied[commandId]
    if not entry or string.byte(entry, 1) ~= 91 then
      return false, 'ERR ' .. commandId .. ' is marked in progress but nothing is pending'
    end
    return entry
  end
  return applyCommand(c)
end

-- The commands in order, until one is left unfinished by the budget. Replies with the applied
-- entries (event JSON arrays) of the finished ones: fewer than the commands sent means "send the
-- rest again, starting with the first unfinished one".
local entries = {}
for i = 1, #cmds do
  local entry, corrupt = step(i)
  if corrupt then
    flush()
    return redis.error_reply(corrupt)
  end
  if not entry then break end
  entries[i] = entry
end
flush()
if S.retentionMs then trim() end
return entries
