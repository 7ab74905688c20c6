/** One caller's rights: which RPCs (method names, or "*") and models (names, or "*"), and its rate. */
export interface Grant {
  rpcs: string[];
  models: string[];
  /** Requests per second and burst; absent: unlimited. */
  rate?: { perSecond: number; burst: number };
}

export interface ApiKeyEntry extends Grant {
  /** Shown in logs and metrics, never the key. */
  id: string;
  key: string;
}

export interface JwtSettings {
  /** A JWKS file (RS256/ES256 public keys, HS256 "oct" keys); re-read when it changes, for key rotation. */
  jwksFile: string;
  issuer?: string;
  audience?: string;
  /** Default HS256, RS256, ES256. */
  algorithms?: string[];
  /** Claims holding the grant. Default tessera_models / tessera_rpcs; absent claims grant nothing. */
  modelsClaim?: string;
  rpcsClaim?: string;
  /** Rate per subject. */
  rate?: { perSecond: number; burst: number };
}

export interface AuthFile {
  keys: ApiKeyEntry[];
  jwt?: JwtSettings;
}

/** Checks the parsed JSON of TESSERA_ROUTER_AUTH_FILE; throws naming the field. */
export function readAuthFile(json: unknown, source: string): AuthFile {
  const fail = (field: string, problem: string): never => {
    throw new Error(`${source}: ${field}: ${problem}`);
  };
  if (typeof json !== "object" || json === null) fail("", "expected a JSON object with keys and/or jwt");
  const root = json as Record<string, unknown>;
  const keys = root.keys ?? [];
  if (!Array.isArray(keys)) fail("keys", "expected a list");
  const strings = (value: unknown, field: string): string[] => {
    if (value === undefined) return ["*"];
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) fail(field, 'expected a list of names, or ["*"]');
    return value as string[];
  };
  const rate = (value: unknown, field: string) => {
    if (value === undefined) return undefined;
    const r = value as { perSecond?: unknown; burst?: unknown };
    if (typeof r.perSecond !== "number" || r.perSecond <= 0) fail(`${field}.perSecond`, "expected a positive number");
    const burst = r.burst ?? r.perSecond;
    if (typeof burst !== "number" || burst < 1) fail(`${field}.burst`, "expected a number of at least 1");
    return { perSecond: r.perSecond as number, burst: burst as number };
  };
  const entries = (keys as unknown[]).map((entry, i): ApiKeyEntry => {
    const e = entry as Record<string, unknown>;
    if (typeof e.id !== "string" || e.id === "") fail(`keys[${i}].id`, "expected a name");
    if (typeof e.key !== "string" || e.key.length < 16) fail(`keys[${i}].key`, "expected a secret of at least 16 characters");
    return { id: e.id as string, key: e.key as string, rpcs: strings(e.rpcs, `keys[${i}].rpcs`), models: strings(e.models, `keys[${i}].models`), rate: rate(e.rate, `keys[${i}].rate`) };
  });
  let jwt: JwtSettings | undefined;
  if (root.jwt !== undefined) {
    const j = root.jwt as Record<string, unknown>;
    if (typeof j.jwksFile !== "string") fail("jwt.jwksFile", "expected the path of a JWKS file");
    jwt = {
      jwksFile: j.jwksFile as string,
      issuer: typeof j.issuer === "string" ? j.issuer : undefined,
      audience: typeof j.audience === "string" ? j.audience : undefined,
      algorithms: j.algorithms === undefined ? undefined : strings(j.algorithms, "jwt.algorithms"),
      modelsClaim: typeof j.modelsClaim === "string" ? j.modelsClaim : undefined,
      rpcsClaim: typeof j.rpcsClaim === "string" ? j.rpcsClaim : undefined,
      rate: rate(j.rate, "jwt.rate"),
    };
  }
  if (entries.length === 0 && !jwt) fail("", "no keys and no jwt: nobody could call the router (set TESSERA_ROUTER_AUTH=off to run open)");
  return { keys: entries, jwt };
}
