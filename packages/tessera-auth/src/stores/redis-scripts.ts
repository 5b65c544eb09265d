/**
 * Lua scripts for the operations that must be atomic in Redis. Each runs as one unit on the
 * server, so no other client sees a half-done rotation, deletion or compare-and-set.
 *
 * Session hashes use short fields: u user id, n user name, r roles (JSON), c created, l last
 * seen, a absolute expiry, ua user agent, ip, d data (JSON), v version.
 * The per-user index is a set of id hashes without TTL; members whose session expired are pruned
 * whenever the user logs in or lists sessions, so it never grows past the live sessions for long.
 *
 * Each user's credential generation is a counter key (absent: 0) beside the index, in its slot.
 *
 * Redis Cluster: a session key and its user's index carry the same hash tag (the owner tag that
 * opens every id hash, see `ownerTag`), so every key one script touches lives in one slot. Keys
 * derived inside a script (a user's sessions from the index) are built with `session_key`, the
 * same layout as `sessionKey` in redis.ts.
 */

/** `<sessionPrefix>{<tag>}<idHash>`, the tag being the id hash's first three characters. */
const SESSION_KEY = `local function session_key(prefix, id) return prefix .. '{' .. string.sub(id, 1, 3) .. '}' .. id end`;

/**
 * KEYS: session, index, generation[, replaced]. ARGV: ttlMs, idHash, sessionPrefix, expectedGeneration
 * ('' for a rotation, '*' for none), field, value, … A login writes only while the user's generation
 * is the one it read; a rotation only while the session it replaces still exists.
 */
export const CREATE_SESSION = `${SESSION_KEY}
if ARGV[4] == '' then
  if redis.call('del', KEYS[4]) == 0 then return 0 end
else
  if ARGV[4] ~= '*' and (redis.call('get', KEYS[3]) or '0') ~= ARGV[4] then return 0 end
  if KEYS[4] then redis.call('del', KEYS[4]) end
end
for _, id in ipairs(redis.call('smembers', KEYS[2])) do
  if redis.call('exists', session_key(ARGV[3], id)) == 0 then redis.call('srem', KEYS[2], id) end
end
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], unpack(ARGV, 5))
redis.call('pexpire', KEYS[1], ARGV[1])
redis.call('sadd', KEYS[2], ARGV[2])
return 1`;

/** KEYS: session. ARGV: lastSeenAt, ttlMs. Never recreates a deleted session. */
export const TOUCH_SESSION = `
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], 'l', ARGV[1])
redis.call('pexpire', KEYS[1], ARGV[2])
return 1`;

/**
 * KEYS: session. ARGV: expectedHash, nextHash, issuedAt, spent, ttlMs. Compare-and-set on the
 * refresh hash; drops the successor key of sessions stored before handles were drawn at random.
 */
export const ROTATE_REFRESH = `
if redis.call('exists', KEYS[1]) == 0 then return 'missing' end
if redis.call('hget', KEYS[1], 'fh') ~= ARGV[1] then return 'conflict' end
redis.call('hset', KEYS[1], 'fh', ARGV[2], 'ft', ARGV[3], 'l', ARGV[3], 'fs', ARGV[4])
redis.call('hdel', KEYS[1], 'fk')
redis.call('pexpire', KEYS[1], ARGV[5])
return 'rotated'`;

/** KEYS: session. ARGV: expectedVersion, data. Compare-and-set on the version field. */
export const UPDATE_SESSION_DATA = `
local version = redis.call('hget', KEYS[1], 'v')
if not version then return 'missing' end
if version ~= ARGV[1] then return 'conflict' end
redis.call('hset', KEYS[1], 'd', ARGV[2], 'v', tonumber(version) + 1)
return 'updated'`;

/** KEYS: session. ARGV: indexPrefix, idHash. The index key's layout is `indexKey` in redis.ts. */
export const DELETE_SESSION = `
local user = redis.call('hget', KEYS[1], 'u')
if not user then return 0 end
redis.call('del', KEYS[1])
redis.call('srem', ARGV[1] .. '{' .. string.sub(ARGV[2], 1, 3) .. '}' .. user, ARGV[2])
return 1`;

/** KEYS: index. ARGV: sessionPrefix. Returns id, fields, id, fields, … and prunes dead members. */
export const LIST_USER_SESSIONS = `${SESSION_KEY}
local out = {}
for _, id in ipairs(redis.call('smembers', KEYS[1])) do
  local fields = redis.call('hgetall', session_key(ARGV[1], id))
  if #fields == 0 then
    redis.call('srem', KEYS[1], id)
  else
    out[#out + 1] = id
    out[#out + 1] = fields
  end
end
return out`;

/**
 * KEYS: index, generation. ARGV: sessionPrefix, exceptIdHash (or ''). Advances the generation and
 * deletes the user's other sessions in one step; returns the id hashes deleted.
 */
export const ADVANCE_GENERATION = `${SESSION_KEY}
redis.call('incr', KEYS[2])
local deleted = {}
for _, id in ipairs(redis.call('smembers', KEYS[1])) do
  if id ~= ARGV[2] then
    if redis.call('del', session_key(ARGV[1], id)) == 1 then deleted[#deleted + 1] = id end
    redis.call('srem', KEYS[1], id)
  end
end
return deleted`;

/** KEYS: user. ARGV: field, value, … Writes a user that does not exist yet. */
export const CREATE_USER = `
if redis.call('exists', KEYS[1]) == 1 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV))
return 1`;

/** KEYS: key. ARGV: value. Deletes the key only while it still holds that value. */
export const DELETE_IF_EQUAL = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('del', KEYS[1])`;

/** KEYS: user. ARGV: field, value, … Updates only an existing user. */
export const UPDATE_USER = `
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], unpack(ARGV))
return 1`;

/** KEYS: counter. Its count and remaining window, in one command; nil when absent. */
export const READ_COUNTER = `
local count = redis.call('get', KEYS[1])
if not count then return nil end
return {tonumber(count), redis.call('pttl', KEYS[1])}`;

/** KEYS: counter. ARGV: delta, windowMs. The window starts with the first hit. */
export const ADD_TO_COUNTER = `
local count = redis.call('incrby', KEYS[1], ARGV[1])
if redis.call('pttl', KEYS[1]) < 0 then redis.call('pexpire', KEYS[1], ARGV[2]) end
return {count, redis.call('pttl', KEYS[1])}`;

/** The server's clock in epoch ms (TIME): acknowledgements are stamped and aged by it, never by an instance's. */
const NOW = `
local time = redis.call('time')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/** KEYS: acknowledgements. ARGV: instance, position. The instance's heartbeat, stamped with the server's clock. */
export const ACKNOWLEDGE = `${NOW}
redis.call('hset', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. now)
return 1`;

/**
 * KEYS: acknowledgements. ARGV: position, withinMs, dropAfterMs. The instances heard from within
 * withinMs whose position is short of ARGV[1] (feed ids: ms-seq); records older than dropAfterMs go.
 */
export const BEHIND = `${NOW}
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local targetMs, targetSeq = parse(ARGV[1])
local behind = {}
local records = redis.call('hgetall', KEYS[1])
for i = 1, #records, 2 do
  local position, at = string.match(records[i + 1], '^(%S+) (%d+)$')
  local age = now - tonumber(at)
  if age > tonumber(ARGV[3]) then
    redis.call('hdel', KEYS[1], records[i])
  elseif age <= tonumber(ARGV[2]) then
    local ms, seq = parse(position)
    if ms < targetMs or (ms == targetMs and seq < targetSeq) then behind[#behind + 1] = records[i] end
  end
end
return behind`;
