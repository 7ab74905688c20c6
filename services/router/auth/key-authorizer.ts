import { createHash } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { status, type Metadata } from "@grpc/grpc-js";
import { createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify, type JSONWebKeySet, type JWTHeaderParameters } from "jose";
import type { Logger } from "../../../libs/log/index.js";
import { UpstreamError } from "../forwarding/upstream-error.js";
import type { AuthFile, Grant } from "./auth-file.js";
import type { Authorizer } from "./authorizer.js";
import { TokenBucket } from "./token-bucket.js";

interface Principal extends Grant {
  id: string;
}

const DEFAULT_ALGORITHMS = ["HS256", "RS256", "ES256"];

/**
 * API keys (`x-api-key`, or `authorization: Bearer <key>`) and JWT bearer
 * tokens verified against a JWKS file that is re-read when it changes, so
 * keys rotate without a restart. No or bad credentials: UNAUTHENTICATED;
 * an RPC or model outside the grant: PERMISSION_DENIED; over the rate:
 * RESOURCE_EXHAUSTED.
 */
export class KeyAuthorizer implements Authorizer {
  private readonly keys = new Map<string, Principal>();
  private readonly buckets = new Map<string, TokenBucket>();
  private jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  /** The JWKS as read: HS256 "oct" keys are looked up here (the local key set takes public keys only). */
  private jwksJson: JSONWebKeySet | undefined;

  constructor(
    private readonly file: AuthFile,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    for (const entry of file.keys) this.keys.set(digest(entry.key), { id: `key:${entry.id}`, rpcs: entry.rpcs, models: entry.models, rate: entry.rate });
    if (file.jwt) {
      const path = file.jwt.jwksFile;
      this.loadJwks(path);
      // Rotation: a new file replaces the key set; a broken one keeps the last good set.
      watchFile(path, { interval: 1000, persistent: false }, () => this.loadJwks(path));
    }
  }

  close(): void {
    if (this.file.jwt) unwatchFile(this.file.jwt.jwksFile);
  }

  async check(metadata: Metadata, rpcPath: string, model?: string): Promise<void> {
    const principal = await this.authenticate(metadata);
    const rpc = rpcPath.slice(rpcPath.lastIndexOf("/") + 1);
    if (!allows(principal.rpcs, rpc) && !allows(principal.rpcs, rpcPath)) {
      throw new UpstreamError(status.PERMISSION_DENIED, `${principal.id} may not call ${rpc} (allowed: ${principal.rpcs.join(", ") || "none"})`);
    }
    if (model !== undefined && !allows(principal.models, model)) {
      throw new UpstreamError(status.PERMISSION_DENIED, `${principal.id} may not use model "${model}" (allowed: ${principal.models.join(", ") || "none"})`);
    }
    if (principal.rate) {
      let bucket = this.buckets.get(principal.id);
      if (!bucket) this.buckets.set(principal.id, (bucket = new TokenBucket(principal.rate.perSecond, principal.rate.burst, this.now())));
      if (!bucket.take(this.now())) throw new UpstreamError(status.RESOURCE_EXHAUSTED, `${principal.id} is over its rate limit of ${principal.rate.perSecond} requests/s; slow down and retry`);
    }
  }

  private async authenticate(metadata: Metadata): Promise<Principal> {
    const apiKey = text(metadata, "x-api-key");
    const bearer = /^Bearer\s+(.+)$/i.exec(text(metadata, "authorization") ?? "")?.[1]?.trim();
    const secret = apiKey ?? bearer;
    if (!secret) throw new UpstreamError(status.UNAUTHENTICATED, "no credentials: send an API key in x-api-key, or authorization: Bearer <API key or JWT>");
    const byKey = this.keys.get(digest(secret));
    if (byKey) return byKey;
    if (apiKey !== undefined || secret.split(".").length !== 3) throw new UpstreamError(status.UNAUTHENTICATED, "unknown API key");
    return this.verifyJwt(secret);
  }

  private async verifyJwt(token: string): Promise<Principal> {
    const settings = this.file.jwt;
    if (!settings || !this.jwks) throw new UpstreamError(status.UNAUTHENTICATED, "JWT bearer tokens are not accepted here (no jwt section in the auth file)");
    try {
      const jwks = this.jwks;
      const keyFor = async (header: JWTHeaderParameters) => {
        if (!header.alg.startsWith("HS")) return jwks(header);
        const oct = this.jwksJson?.keys.find((k) => k.kty === "oct" && (header.kid === undefined || k.kid === header.kid) && (k.alg === undefined || k.alg === header.alg));
        if (!oct) throw new joseErrors.JWKSNoMatchingKey();
        return importJWK(oct, header.alg);
      };
      const { payload } = await jwtVerify(token, keyFor, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: settings.algorithms ?? DEFAULT_ALGORITHMS,
        currentDate: new Date(this.now()),
      });
      const claim = (name: string): string[] => {
        const value = payload[name];
        if (typeof value === "string") return value.split(/[ ,]+/).filter(Boolean);
        return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
      };
      return {
        id: `jwt:${payload.sub ?? "(no subject)"}`,
        models: claim(settings.modelsClaim ?? "tessera_models"),
        rpcs: claim(settings.rpcsClaim ?? "tessera_rpcs"),
        rate: settings.rate,
      };
    } catch (error) {
      throw new UpstreamError(status.UNAUTHENTICATED, `JWT refused: ${describeJwtError(error)}`);
    }
  }

  private loadJwks(path: string): void {
    try {
      const set = JSON.parse(readFileSync(path, "utf8")) as JSONWebKeySet;
      this.jwks = createLocalJWKSet({ keys: set.keys.filter((k) => k.kty !== "oct") });
      this.jwksJson = set;
      this.logger.info("auth: JWKS loaded", { path, keys: set.keys?.length ?? 0 });
    } catch (error) {
      this.logger.warn("auth: could not read the JWKS file; keeping the previous keys", { path, error });
    }
  }
}

function describeJwtError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "the token has expired";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "the signature does not verify with any key in the JWKS";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key in the JWKS matches the token's kid/alg";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim ${error.claim} is not accepted (${error.reason})`;
  return (error as Error)?.message ?? String(error);
}

function allows(granted: readonly string[], name: string): boolean {
  return granted.includes("*") || granted.includes(name);
}

function digest(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function text(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" && value !== "" ? value : undefined;
}
