/**
 * @internal Last writer wins by event time, in one atomic step on the
 * Redis node that holds the key. KEYS[1]: the row's hash. ARGV[1]: event
 * time (ms), ARGV[2]: TTL (ms, 0 none), then field/value pairs. The row
 * replaces the hash, so every field's event time is the hash's `_t`.
 * Returns 1 if written, 0 if a newer event was stored.
 */
export const WRITE_ROW_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], '_t')
if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_t', ARGV[1], unpack(ARGV, 3))
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** @internal The hash field holding the row's event time (decimal ms); feature names never start with '_'. */
export const EVENT_TIME_FIELD = "_t";
