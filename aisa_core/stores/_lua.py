"""The Lua scripts ``RedisStore`` runs: each store operation is one script, so each
read-modify-write is one atomic step on the server, and every clock reading is the server's
``TIME``. They follow ``MemoryStore`` step for step (``memory.py`` is the reference).

Conventions: numbers computed here go back as ``%.17g`` strings (exact for a double; a Lua
number returned bare would be cut to an integer); ``ttl`` arguments are milliseconds, ``0`` for
none; ``sliding`` is ``1`` when the key's expiry is renewed by every write (a key written
without a ttl, kept ``default_ttl`` after its last write) rather than set once when it is made.
"""

from __future__ import annotations

__all__ = ["SCRIPTS"]

# Helpers every script may use (prepended to each).
_COMMON = """
local function num(x) return string.format('%.17g', x) end
local function put(key, value, ttl)
  if tonumber(ttl) > 0 then
    redis.call('SET', key, value, 'PX', ttl)
  else
    redis.call('SET', key, value)
  end
end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

_NOW = """
local t = redis.call('TIME')
return {t[1], t[2]}
"""

_GET_MANY = """
return redis.call('MGET', unpack(KEYS))
"""

# ARGV: value, ttl, only_if_absent
_SET = """
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
put(KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# ARGV: amount, ttl, sliding. An existing key keeps its expiry unless it slides.
_INCR = """
local current = redis.call('GET', KEYS[1])
local value = num((tonumber(current) or 0) + tonumber(ARGV[1]))
if current and ARGV[3] == '0' then
  redis.call('SET', KEYS[1], value, 'KEEPTTL')
else
  put(KEYS[1], value, ARGV[2])
end
return value
"""

# ARGV: amount, limit, ttl, sliding. {1, new} or, when it would go over, {0, current}.
_INCR_WITHIN = """
local current = redis.call('GET', KEYS[1])
local base = tonumber(current) or 0
if base + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, num(base)} end
local value = num(base + tonumber(ARGV[1]))
if current and ARGV[4] == '0' then
  redis.call('SET', KEYS[1], value, 'KEEPTTL')
else
  put(KEYS[1], value, ARGV[3])
end
return {1, value}
"""

# ARGV: value, alpha, ttl (reset by every write, as MemoryStore does)
_EWMA = """
local current = tonumber(redis.call('GET', KEYS[1]))
local value = tonumber(ARGV[1])
if current then value = current + tonumber(ARGV[2]) * (value - current) end
value = num(value)
put(KEYS[1], value, ARGV[3])
return value
"""

_DELETE = """
return redis.call('DEL', unpack(KEYS))
"""

# ARGV: field, amount, ttl, sliding
_INCR_FIELD = """
local made = redis.call('EXISTS', KEYS[1]) == 0
local value = num((tonumber(redis.call('HGET', KEYS[1], ARGV[1])) or 0) + tonumber(ARGV[2]))
redis.call('HSET', KEYS[1], ARGV[1], value)
if (made or ARGV[4] == '1') and tonumber(ARGV[3]) > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return value
"""

_GET_FIELDS = """
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: the GCRA timestamp, the leases (a sorted set: token -> expiry in ms).
# ARGV: token, max_concurrent (0: none), lease ms, interval us (0: none), burst, then the
# tokens of leases given back (removed first, whatever the answer).
# {0, 0}: admitted; {1, ms until the first lease expires}: every slot held; {2, us}: its turn
# is that far off. Nothing else changes unless admitted.
_RATE_ADMIT = """
local now = now_us()
local now_ms = math.floor(now / 1000)
local limit, lease = tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 6, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
if limit > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
  if redis.call('ZCARD', KEYS[2]) >= limit then
    local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {1, tonumber(first[2]) - now_ms}
  end
end
local interval = tonumber(ARGV[4])
if interval > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1])) or now
  local earliest = tat - (tonumber(ARGV[5]) - 1) * interval
  if now < earliest then return {2, earliest - now} end
  local new = math.max(tat, now) + interval
  redis.call('SET', KEYS[1], num(new), 'PX', math.ceil((new - now) / 1000) + 1000)
end
if limit > 0 then
  redis.call('ZADD', KEYS[2], num(now_ms + lease), ARGV[1])
  redis.call('PEXPIRE', KEYS[2], 2 * lease)
end
return {0, 0}
"""

# ARGV: lease ms, tokens... (an expired lease stays expired, as in MemoryStore)
_RATE_RENEW = """
local now_ms = math.floor(now_us() / 1000)
local expires = num(now_ms + tonumber(ARGV[1]))
local held = 0
for i = 2, #ARGV do
  local score = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]))
  if score and score > now_ms then
    redis.call('ZADD', KEYS[1], expires, ARGV[i])
    held = held + 1
  end
end
if held > 0 then redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1])) end
return held
"""

_RATE_RELEASE = """
return redis.call('ZREM', KEYS[1], unpack(ARGV))
"""

_RATE_IN_FLIGHT = """
return redis.call('ZCOUNT', KEYS[1], '(' .. math.floor(now_us() / 1000), '+inf')
"""

SCRIPTS: dict[str, str] = {
    name: _COMMON + body
    for name, body in {
        "now": _NOW,
        "get_many": _GET_MANY,
        "set": _SET,
        "add": _SET,
        "incr": _INCR,
        "incr_within": _INCR_WITHIN,
        "ewma": _EWMA,
        "delete": _DELETE,
        "incr_field": _INCR_FIELD,
        "get_fields": _GET_FIELDS,
        "rate_admit": _RATE_ADMIT,
        "rate_renew": _RATE_RENEW,
        "rate_release": _RATE_RELEASE,
        "rate_in_flight": _RATE_IN_FLIGHT,
    }.items()
}
