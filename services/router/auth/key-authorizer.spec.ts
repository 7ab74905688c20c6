import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../libs/log/index.js";
import { UpstreamError } from "../forwarding/upstream-error.js";
import { readAuthFile } from "./auth-file.js";
import { KeyAuthorizer } from "./key-authorizer.js";

const PREDICT = "/tessera.inference.v1.InferenceService/Predict";
const SET_ROUTE = "/tessera.router.v1.RouterService/SetRoute";
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
const hsSecret = new TextEncoder().encode("a-test-secret-that-is-32-bytes!!");

function headers(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(entries)) metadata.set(k, v);
  return metadata;
}

async function code(promise: Promise<void> | void): Promise<status | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    if (error instanceof UpstreamError) return error.code;
    throw error;
  }
}

describe("KeyAuthorizer", () => {
  let dir: string;
  let jwksFile: string;
  let rsa: KeyPair;
  let ec: KeyPair;
  let authorizer: KeyAuthorizer;
  let now = Date.now();
  const jwks = async (...keys: JWK[]) => writeFile(jwksFile, JSON.stringify({ keys }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tessera-auth-"));
    jwksFile = join(dir, "jwks.json");
    rsa = await generateKeyPair("RS256", { extractable: true });
    ec = await generateKeyPair("ES256", { extractable: true });
    await jwks(
      { ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256" },
      { ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256" },
      { kty: "oct", k: Buffer.from(hsSecret).toString("base64url"), kid: "hs-1", alg: "HS256" },
    );
    const file = readAuthFile(
      {
        keys: [
          { id: "ops", key: "ops-key-0123456789abcdef" },
          { id: "app", key: "app-key-0123456789abcdef", rpcs: ["Predict"], models: ["fraud"], rate: { perSecond: 1, burst: 2 } },
        ],
        jwt: { jwksFile, issuer: "https://issuer.example" },
      },
      "auth.json",
    );
    authorizer = new KeyAuthorizer(file, silentLogger, () => now);
  });

  afterAll(async () => {
    authorizer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const jwt = (alg: string, kid: string, key: Parameters<SignJWT["sign"]>[0], claims: Record<string, unknown> = {}, expiresIn: string | number = "5m") =>
    new SignJWT({ tessera_models: ["fraud"], tessera_rpcs: ["Predict"], ...claims })
      .setProtectedHeader({ alg, kid })
      .setSubject("user-1")
      .setIssuer("https://issuer.example")
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(expiresIn)
      .sign(key);

  it("answers UNAUTHENTICATED without credentials or with an unknown key", async () => {
    expect(await code(authorizer.check(headers({}), PREDICT, "fraud"))).toBe(status.UNAUTHENTICATED);
    expect(await code(authorizer.check(headers({ "x-api-key": "nope-nope-nope-nope" }), PREDICT, "fraud"))).toBe(status.UNAUTHENTICATED);
  });

  it("lets a key call what it is granted, and PERMISSION_DENIED otherwise", async () => {
    expect(await code(authorizer.check(headers({ "x-api-key": "ops-key-0123456789abcdef" }), SET_ROUTE))).toBe("ok");
    expect(await code(authorizer.check(headers({ authorization: "Bearer app-key-0123456789abcdef" }), PREDICT, "fraud"))).toBe("ok");
    expect(await code(authorizer.check(headers({ "x-api-key": "app-key-0123456789abcdef" }), PREDICT, "wide"))).toBe(status.PERMISSION_DENIED);
    expect(await code(authorizer.check(headers({ "x-api-key": "app-key-0123456789abcdef" }), SET_ROUTE))).toBe(status.PERMISSION_DENIED);
  });

  it("answers RESOURCE_EXHAUSTED past a key's rate", async () => {
    now += 10_000;
    const app = headers({ "x-api-key": "app-key-0123456789abcdef" });
    expect([await code(authorizer.check(app, PREDICT, "fraud")), await code(authorizer.check(app, PREDICT, "fraud")), await code(authorizer.check(app, PREDICT, "fraud"))]).toEqual([
      "ok",
      "ok",
      status.RESOURCE_EXHAUSTED,
    ]);
    now += 1_000;
    expect(await code(authorizer.check(app, PREDICT, "fraud"))).toBe("ok");
  });

  it.each(["HS256", "RS256", "ES256"])("accepts a %s JWT and applies its claims", async (alg) => {
    const key = alg === "HS256" ? hsSecret : alg === "RS256" ? rsa.privateKey : ec.privateKey;
    const kid = alg === "HS256" ? "hs-1" : alg === "RS256" ? "rsa-1" : "ec-1";
    const token = await jwt(alg, kid, key);
    expect(await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "fraud"))).toBe("ok");
    expect(await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "wide"))).toBe(status.PERMISSION_DENIED);
  });

  it("refuses an expired token, a wrong signature and a wrong issuer", async () => {
    const expired = await jwt("RS256", "rsa-1", rsa.privateKey, {}, Math.floor(now / 1000) - 60);
    const other = await generateKeyPair("RS256");
    const forged = await jwt("RS256", "rsa-1", other.privateKey);
    const wrongIssuer = await new SignJWT({}).setProtectedHeader({ alg: "HS256", kid: "hs-1" }).setIssuer("https://elsewhere").setExpirationTime("5m").sign(hsSecret);
    for (const token of [expired, forged, wrongIssuer]) {
      expect(await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "fraud"))).toBe(status.UNAUTHENTICATED);
    }
    const message = await authorizer.check(headers({ authorization: `Bearer ${expired}` }), PREDICT, "fraud").catch((e: UpstreamError) => e.details);
    expect(message).toContain("expired");
  });

  it("picks up a rotated JWKS file without a restart", async () => {
    const next = await generateKeyPair("ES256", { extractable: true });
    const token = await jwt("ES256", "ec-2", next.privateKey);
    expect(await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "fraud"))).toBe(status.UNAUTHENTICATED);
    await jwks({ ...(await exportJWK(next.publicKey)), kid: "ec-2", alg: "ES256" });
    for (let i = 0; i < 100 && (await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "fraud"))) !== "ok"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await code(authorizer.check(headers({ authorization: `Bearer ${token}` }), PREDICT, "fraud"))).toBe("ok");
  });
});

describe("readAuthFile()", () => {
  it.each([
    [{}, "no keys and no jwt"],
    [{ keys: [{ id: "a", key: "short" }] }, "keys[0].key"],
    [{ keys: [{ id: "a", key: "long-enough-secret-key", models: "fraud" }] }, "keys[0].models"],
    [{ jwt: {} }, "jwt.jwksFile"],
  ])("refuses %j", (json, message) => {
    expect(() => readAuthFile(json, "auth.json")).toThrow(message);
  });
});
