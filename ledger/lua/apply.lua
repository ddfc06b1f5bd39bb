-- Applies one change to one user's ledger: all or nothing, exactly once per changeId.
--
-- KEYS (one hash tag {acct:U}, so one Redis Cluster slot):
--   1 BALANCES (hash: '<ASSET>:free', '<ASSET>:locked' integer strings, absent = 0; '_seq'),
--   2 HOLDS (hash: holdId → '<ASSET>:<remaining>', removed at 0),
--   3 APPLIED (hash: changeId → the result JSON, refusals included),
--   4 JOURNAL (stream: one entry per applied change: its balances' and holds' before and after).
-- ARGV: 1 changeId, 2 kind, 3 ref, 4 n, then n × (asset, free delta, locked delta), then m,
--   then m × (holdId, asset, amount delta), then c, then c × holdId (holds to close). Amounts are
--   decimal integer strings. n may be 0 when c is not.
-- Returns { repeated (0 or 1), result JSON }. An error reply means nothing changed and nothing was
-- recorded (bad arguments, corrupt state, or a value past int64).
--
-- Closing a hold, after the hold deltas: its remaining (this change's own delta included) moves
-- from locked to free of its asset and the hold goes. A missing or empty hold releases nothing.
--
-- Checks, in this order, the first failure is the refusal: each asset (in the order of the
-- change, then the assets only a close touches) free then locked, the releases counted, then
-- each hold delta (in order): another asset than the existing hold's (HOLD_ASSET_MISMATCH), then
-- its remaining.
--
-- Amounts reach 10^17 and more, and Lua numbers are doubles (exact to 2^53 only), so every sum
-- and comparison runs on decimal strings (add, below): 15-digit limbs, whose sums stay exact.
-- Stored values are kept within int64, so HINCRBY and other Redis tools still work on them.

local byte, sub, match, fmt = string.byte, string.sub, string.match, string.format

local INT64_MAX = '9223372036854775807'
local LIMB, LIMB_BASE = 15, 1e15
local MINUS = 45 -- '-'
local KINDS = { deposit = true, grant = true, withdrawal = true, hold = true, settle = true,
  release = true, fee = true }

-- The canonical form of an integer string ('-'? digits, no leading zeros, '0' unsigned), or nil.
local function canon(s)
  if type(s) ~= 'string' then return nil end
  local sign, digits = match(s, '^(%-?)0*(%d+)$')
  if not digits then return nil end
  if digits == '0' then return '0' end
  return sign .. digits
end

-- Magnitudes (digit strings without leading zeros): -1, 0 or 1.
local function cmpMag(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end

-- Limbs from the least significant: limb i covers digits [#s - i*LIMB + 1, #s - (i-1)*LIMB].
local function limb(s, i)
  local hi = #s - (i - 1) * LIMB
  if hi < 1 then return 0 end
  local lo = hi - LIMB + 1
  if lo < 1 then lo = 1 end
  return tonumber(sub(s, lo, hi))
end

local function joinLimbs(limbs)
  local n = #limbs
  while n > 1 and limbs[n] == 0 do n = n - 1 end
  local parts = { fmt('%d', limbs[n]) }
  for i = n - 1, 1, -1 do parts[#parts + 1] = fmt('%015d', limbs[i]) end
  return table.concat(parts)
end

local function addMag(a, b)
  local limbs, carry = {}, 0
  local n = math.ceil(math.max(#a, #b) / LIMB)
  for i = 1, n do
    local s = limb(a, i) + limb(b, i) + carry
    if s >= LIMB_BASE then s, carry = s - LIMB_BASE, 1 else carry = 0 end
    limbs[i] = s
  end
  if carry > 0 then limbs[n + 1] = carry end
  return joinLimbs(limbs)
end

-- a - b for magnitudes with a >= b.
local function subMag(a, b)
  local limbs, borrow = {}, 0
  local n = math.ceil(#a / LIMB)
  for i = 1, n do
    local d = limb(a, i) - limb(b, i) - borrow
    if d < 0 then d, borrow = d + LIMB_BASE, 1 else borrow = 0 end
    limbs[i] = d
  end
  return joinLimbs(limbs)
end

local function isNeg(s) return byte(s, 1) == MINUS end
local function mag(s) if isNeg(s) then return sub(s, 2) end return s end
local function neg(s)
  if s == '0' then return '0' end
  if isNeg(s) then return sub(s, 2) end
  return '-' .. s
end

-- a + b for canonical integer strings, exact at any size.
local function add(a, b)
  local an, bn = isNeg(a), isNeg(b)
  local am, bm = mag(a), mag(b)
  if an == bn then
    local m = addMag(am, bm)
    if an then return '-' .. m end
    return m
  end
  local c = cmpMag(am, bm)
  if c == 0 then return '0' end
  if c > 0 then
    local m = subMag(am, bm)
    if an then return '-' .. m end
    return m
  end
  local m = subMag(bm, am)
  if bn then return '-' .. m end
  return m
end

local function tooBig(s) return not isNeg(s) and cmpMag(s, INT64_MAX) > 0 end

-- ── Exactly once ─────────────────────────────────────────────────────────────────────────────
local changeId, kind, ref = ARGV[1], ARGV[2], ARGV[3]
if not changeId or changeId == '' or not ref or ref == '' or not KINDS[kind] then
  return redis.error_reply('ERR ledger: needs changeId, a known kind and ref')
end
local stored = redis.call('HGET', KEYS[3], changeId)
if stored then return { 1, stored } end

-- ── Arguments: every delta is read and checked before anything is written ─────────────────────
local nb = tonumber(ARGV[4])
if not nb or nb < 0 or nb % 1 ~= 0 then
  return redis.error_reply('ERR ledger: the balance delta count is malformed')
end
-- Per asset (first appearance order): its deltas, summed, so a repeated asset adds up.
local assets, delta = {}, {}
for i = 0, nb - 1 do
  local asset = ARGV[5 + 3 * i]
  local df, dl = canon(ARGV[6 + 3 * i]), canon(ARGV[7 + 3 * i])
  if type(asset) ~= 'string' or not match(asset, '^[A-Z0-9]+$') or not df or not dl then
    return redis.error_reply('ERR ledger: balance delta ' .. (i + 1) .. ' is malformed')
  end
  local d = delta[asset]
  if d then
    d.free, d.locked = add(d.free, df), add(d.locked, dl)
  else
    assets[#assets + 1] = asset
    delta[asset] = { free = df, locked = dl }
  end
end
local base = 5 + 3 * nb
local nh = tonumber(ARGV[base])
if not nh or nh < 0 or nh % 1 ~= 0 or #ARGV < base + 3 * nh + 1 then
  return redis.error_reply('ERR ledger: argument count does not match the deltas')
end
local holdIds, holdDelta = {}, {}
for i = 0, nh - 1 do
  local holdId, asset, amount = ARGV[base + 1 + 3 * i], ARGV[base + 2 + 3 * i],
    canon(ARGV[base + 3 + 3 * i])
  if not holdId or holdId == '' or type(asset) ~= 'string' or not match(asset, '^[A-Z0-9]+$')
    or not amount then
    return redis.error_reply('ERR ledger: hold delta ' .. (i + 1) .. ' is malformed')
  end
  local h = holdDelta[holdId]
  if h then
    -- Two deltas of one hold in other assets: the second meets the first's asset.
    if h.asset ~= asset then h.mismatch = true end
    h.amount = add(h.amount, amount)
  else
    holdIds[#holdIds + 1] = holdId
    holdDelta[holdId] = { asset = asset, amount = amount }
  end
end
local closeBase = base + 3 * nh + 1
local nc = tonumber(ARGV[closeBase])
if not nc or nc < 0 or nc % 1 ~= 0 or #ARGV ~= closeBase + nc then
  return redis.error_reply('ERR ledger: argument count does not match the deltas')
end
if nb == 0 and nc == 0 then
  return redis.error_reply('ERR ledger: needs a balance delta or a hold to close')
end
local closeIds = {}
for i = 1, nc do
  local holdId = ARGV[closeBase + i]
  if holdId == '' then
    return redis.error_reply('ERR ledger: hold to close ' .. i .. ' is malformed')
  end
  closeIds[i] = holdId
end

-- ── Holds: the deltas' new remaining, then what the closes release ─────────────────────────
-- Holds come first: a release moves locked to free, and the balance checks count it.
local named, isNamed = {}, {}
for _, list in ipairs({ holdIds, closeIds }) do
  for _, holdId in ipairs(list) do
    if not isNamed[holdId] then
      isNamed[holdId] = true
      named[#named + 1] = holdId
    end
  end
end
local held = {}
if #named > 0 then
  local existing = redis.call('HMGET', KEYS[2], unpack(named))
  for i, holdId in ipairs(named) do
    local text = existing[i]
    if text then
      local asset, amount = match(text, '^([A-Z0-9]+):(%-?%d+)$')
      amount = asset and canon(amount)
      if not amount then
        return redis.error_reply('ERR ledger: stored hold ' .. holdId .. ' is malformed')
      end
      held[holdId] = { asset = asset, amount = amount }
    end
  end
end

-- One row per hold the change touches (deltas in order, then closed holds without a delta):
-- what the journal records, and what is written.
local holdRows, holdRow = {}, {}
for _, holdId in ipairs(holdIds) do
  local h, s = holdDelta[holdId], held[holdId]
  local remaining = s and s.amount or '0'
  if s and s.asset ~= h.asset then h.mismatch = true end
  local after = add(remaining, h.amount)
  if tooBig(after) then
    return redis.error_reply('ERR ledger: hold ' .. holdId .. ' would overflow int64')
  end
  local row = { holdId = holdId, asset = h.asset, before = remaining, after = after }
  holdRows[#holdRows + 1] = row
  holdRow[holdId] = row
end

-- A close releases what its hold still has after this change's own delta. A missing (or
-- emptied) hold releases nothing; a mismatched or overdrawn one is refused below, and releases
-- nothing meanwhile, so the balance checks see no made-up amount.
local released = {}
for _, holdId in ipairs(closeIds) do
  local row = holdRow[holdId]
  local s = held[holdId]
  if not row and s and not isNeg(s.amount) and s.amount ~= '0' then
    row = { holdId = holdId, asset = s.asset, before = s.amount, after = s.amount }
    holdRows[#holdRows + 1] = row
    holdRow[holdId] = row
  end
  local h = holdDelta[holdId]
  if row and not (h and h.mismatch) and not isNeg(row.after) and row.after ~= '0' then
    local amount = row.after
    released[#released + 1] = { holdId = holdId, asset = row.asset, amount = amount }
    row.after = '0'
    -- The asset joins the change's assets (after them) when none of its deltas named it.
    local d = delta[row.asset]
    if not d then
      d = { free = '0', locked = '0' }
      assets[#assets + 1] = row.asset
      delta[row.asset] = d
    end
    d.free, d.locked = add(d.free, amount), add(d.locked, neg(amount))
  end
end

-- ── New values, and the first refusal ───────────────────────────────────────────────────────
local refusal
local rows = {}
if #assets > 0 then
  local fields = {}
  for i, asset in ipairs(assets) do
    fields[2 * i - 1], fields[2 * i] = asset .. ':free', asset .. ':locked'
  end
  local current = redis.call('HMGET', KEYS[1], unpack(fields))
  for i, asset in ipairs(assets) do
    local free, locked = canon(current[2 * i - 1] or '0'), canon(current[2 * i] or '0')
    if not free or not locked then
      return redis.error_reply('ERR ledger: stored balance of ' .. asset .. ' is not an integer')
    end
    local d = delta[asset]
    local row = { asset = asset, freeBefore = free, lockedBefore = locked,
      freeAfter = add(free, d.free), lockedAfter = add(locked, d.locked) }
    if tooBig(row.freeAfter) or tooBig(row.lockedAfter) then
      return redis.error_reply('ERR ledger: balance of ' .. asset .. ' would overflow int64')
    end
    rows[i] = row
    if not refusal then
      for _, field in ipairs({ 'free', 'locked' }) do
        if not refusal and isNeg(row[field .. 'After']) then
          -- needed: what the whole change takes from the field, releases included.
          refusal = fmt(
            '{"applied":false,"reason":"INSUFFICIENT_BALANCE","asset":"%s","field":"%s",'
              .. '"available":"%s","needed":"%s"}',
            asset, field, row[field .. 'Before'], neg(d[field]))
        end
      end
    end
  end
end

for _, holdId in ipairs(holdIds) do
  if refusal then break end
  local h, row = holdDelta[holdId], holdRow[holdId]
  if h.mismatch then
    refusal = fmt('{"applied":false,"reason":"HOLD_ASSET_MISMATCH","holdId":%s}',
      cjson.encode(holdId))
  elseif isNeg(row.after) then
    refusal = fmt(
      '{"applied":false,"reason":"HOLD_INSUFFICIENT","holdId":%s,"available":"%s",'
        .. '"needed":"%s"}',
      cjson.encode(holdId), row.before, neg(h.amount))
  end
end

if refusal then
  redis.call('HSET', KEYS[3], changeId, refusal)
  return { 0, refusal }
end

-- ── Apply ────────────────────────────────────────────────────────────────────────────────────
-- Zero is stored as absent, so the hashes hold only what is there.
local set, del = {}, {}
local function put(field, value)
  if value == '0' then
    del[#del + 1] = field
  else
    set[#set + 1] = field
    set[#set + 1] = value
  end
end
local changes, after = {}, {}
for i, row in ipairs(rows) do
  put(row.asset .. ':free', row.freeAfter)
  put(row.asset .. ':locked', row.lockedAfter)
  changes[i] = fmt(
    '{"asset":"%s","freeBefore":"%s","freeAfter":"%s","lockedBefore":"%s","lockedAfter":"%s"}',
    row.asset, row.freeBefore, row.freeAfter, row.lockedBefore, row.lockedAfter)
  after[i] = fmt('{"asset":"%s","free":"%s","locked":"%s"}', row.asset, row.freeAfter,
    row.lockedAfter)
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
if #del > 0 then redis.call('HDEL', KEYS[1], unpack(del)) end
local seq = redis.call('HINCRBY', KEYS[1], '_seq', 1)

set, del = {}, {}
local holdChanges = {}
for i, h in ipairs(holdRows) do
  if h.after == '0' then
    del[#del + 1] = h.holdId
  else
    set[#set + 1] = h.holdId
    set[#set + 1] = h.asset .. ':' .. h.after
  end
  holdChanges[i] = fmt('{"holdId":%s,"asset":"%s","before":"%s","after":"%s"}',
    cjson.encode(h.holdId), h.asset, h.before, h.after)
end
if #set > 0 then redis.call('HSET', KEYS[2], unpack(set)) end
if #del > 0 then redis.call('HDEL', KEYS[2], unpack(del)) end

local clock = redis.call('TIME')
local ms = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('XADD', KEYS[4], '*', 'changeId', changeId, 'kind', kind, 'ref', ref, 'time',
  fmt('%d', ms), 'changes', '[' .. table.concat(changes, ',') .. ']',
  'holds', '[' .. table.concat(holdChanges, ',') .. ']')

local releases = {}
for i, r in ipairs(released) do
  releases[i] = fmt('{"holdId":%s,"asset":"%s","amount":"%s"}', cjson.encode(r.holdId), r.asset,
    r.amount)
end
local result = fmt('{"applied":true,"seq":%d,"balances":[%s],"released":[%s]}', seq,
  table.concat(after, ','), table.concat(releases, ','))
redis.call('HSET', KEYS[3], changeId, result)
return { 0, result }
