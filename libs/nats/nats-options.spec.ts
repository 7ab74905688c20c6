import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/index.js";
import { readNatsOptions, redactUrl } from "./nats-options.js";

describe("readNatsOptions()", () => {
  it("defaults to one local server, no credentials, one JetStream replica", () => {
    expect(readNatsOptions({})).toEqual({ servers: ["nats://127.0.0.1:4222"], jetstreamReplicas: 1 });
  });

  it("reads a cluster, credentials, TLS and the replica count", () => {
    const options = readNatsOptions({
      NATS_URL: "nats://a:4222, nats://b:4222",
      NATS_CREDS: "/run/secrets/app.creds",
      NATS_TLS_CA: "/ca.pem",
      NATS_TLS_CERT: "/c.pem",
      NATS_TLS_KEY: "/k.pem",
      TESSERA_JETSTREAM_REPLICAS: "3",
    });
    expect(options).toEqual({
      servers: ["nats://a:4222", "nats://b:4222"],
      credsFile: "/run/secrets/app.creds",
      tls: { caFile: "/ca.pem", certFile: "/c.pem", keyFile: "/k.pem" },
      jetstreamReplicas: 3,
    });
  });

  it.each([
    [{ NATS_CREDS: "/a.creds", NATS_TOKEN: "t" }, /only one of/],
    [{ NATS_TLS_CERT: "/c.pem" }, /NATS_TLS_KEY/],
    [{ TESSERA_JETSTREAM_REPLICAS: "0" }, /TESSERA_JETSTREAM_REPLICAS/],
    [{ NATS_URL: " , " }, /NATS_URL/],
  ])("refuses %j with a ConfigError naming the key", (env, message) => {
    expect(() => readNatsOptions(env)).toThrow(ConfigError);
    expect(() => readNatsOptions(env)).toThrow(message);
  });
});

describe("redactUrl()", () => {
  it.each([
    ["nats://127.0.0.1:4222", "nats://127.0.0.1:4222"],
    ["nats://alice:s3cret@nats.example:4222", "nats://alice:***@nats.example:4222"],
    ["nats://s3cret-token@nats.example:4222", "nats://***@nats.example:4222"],
    ["tls://bob:pw@[::1]:4222", "tls://bob:***@[::1]:4222"],
  ])("%s → %s", (url, printed) => {
    expect(redactUrl(url)).toBe(printed);
    expect(redactUrl(url)).not.toMatch(/s3cret|:pw@/);
  });
});
