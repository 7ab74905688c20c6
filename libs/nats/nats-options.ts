import { ConfigError, readInt, readOptionalString, readString, type Env } from "../config/index.js";

/** How a service reaches NATS: where, as whom, over what TLS, and how many copies JetStream keeps. */
export interface NatsOptions {
  /** One URL or several, comma-separated in NATS_URL (a cluster). */
  servers: string[];
  /** A .creds file (user JWT and nkey seed), as `nats context` and `nsc` write it. */
  credsFile?: string;
  /** A bearer token (the server's `authorization { token }`). */
  token?: string;
  /** A file holding an nkey seed (`SU…`), for nkey authentication. */
  nkeySeedFile?: string;
  /** TLS: CA to trust, and a client certificate and key for mutual TLS. Any of them turns TLS on. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /**
   * Copies JetStream keeps of every bucket and stream this service creates.
   * Default 1 (a single server can keep no more); on a NATS cluster use 3,
   * or one server's loss loses the registry. A bucket that exists keeps
   * the count it was created with.
   */
  jetstreamReplicas: number;
}

/**
 * Reads NATS_URL, NATS_CREDS, NATS_TOKEN, NATS_NKEY_SEED_FILE,
 * NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY and TESSERA_JETSTREAM_REPLICAS;
 * a bad value throws a ConfigError naming the key.
 */
export function readNatsOptions(env: Env, fallbackUrl = "nats://127.0.0.1:4222"): NatsOptions {
  const servers = readString(env, "NATS_URL", fallbackUrl)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (servers.length === 0) throw new ConfigError("NATS_URL", "expected a URL such as nats://127.0.0.1:4222");
  const credsFile = readOptionalString(env, "NATS_CREDS");
  const token = readOptionalString(env, "NATS_TOKEN");
  const nkeySeedFile = readOptionalString(env, "NATS_NKEY_SEED_FILE");
  const given = [credsFile && "NATS_CREDS", token && "NATS_TOKEN", nkeySeedFile && "NATS_NKEY_SEED_FILE"].filter(Boolean);
  if (given.length > 1) throw new ConfigError(String(given[1]), `set only one of NATS_CREDS, NATS_TOKEN and NATS_NKEY_SEED_FILE (got ${given.join(" and ")})`);
  const caFile = readOptionalString(env, "NATS_TLS_CA");
  const certFile = readOptionalString(env, "NATS_TLS_CERT");
  const keyFile = readOptionalString(env, "NATS_TLS_KEY");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(certFile === undefined ? "NATS_TLS_CERT" : "NATS_TLS_KEY", "a client certificate needs both NATS_TLS_CERT and NATS_TLS_KEY");
  }
  const tls = caFile || certFile ? { caFile, certFile, keyFile } : undefined;
  return {
    servers,
    ...(credsFile ? { credsFile } : {}),
    ...(token ? { token } : {}),
    ...(nkeySeedFile ? { nkeySeedFile } : {}),
    ...(tls ? { tls } : {}),
    jetstreamReplicas: readInt(env, "TESSERA_JETSTREAM_REPLICAS", 1, { min: 1, max: 5 }),
  };
}

/** A URL as it may be printed: any password (or token in the user part) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    else if (parsed.username !== "") parsed.username = "***"; // nats://TOKEN@host carries a token there
    else return url;
    return parsed.toString();
  } catch {
    // Not a URL we can parse: print nothing of what sits before an '@'.
    return url.replace(/^([a-z]+:\/\/)?[^@/]*@/i, "$1***@");
  }
}
