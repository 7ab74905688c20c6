import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../libs/errors/index.js";
import { connectNats, type NatsConnection } from "../../libs/nats/index.js";
import { createMemoryKvStore, openNatsKv } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { expectCode } from "./expect-code.js";
import { kvStoreContract } from "./kv-store.contract.js";

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connectNats({ servers: testNatsUrl(), name: "contract-kv" });
});
afterAll(async () => {
  await nc.close();
});

kvStoreContract("embedded (memory)", async () => {
  const store = createMemoryKvStore();
  return { store, dispose: () => store.close() };
});

kvStoreContract("NATS JetStream KV", async () => {
  const bucket = uniqueName("kv");
  const store = await openNatsKv(nc, { bucket });
  return {
    store,
    async dispose() {
      await store.close();
      await (await new Kvm(nc).open(bucket)).destroy();
    },
  };
});

describe("openNatsKv()", () => {
  it("answers INVALID_ARGUMENT for a bucket name NATS would refuse", async () => {
    await expectCode(openNatsKv(nc, { bucket: "has.dots" }), Code.InvalidArgument);
  });

  it("opens an existing bucket and sees what was stored in it", async () => {
    const bucket = uniqueName("kv");
    const first = await openNatsKv(nc, { bucket });
    const revision = await first.create("models.iris", new Uint8Array([1, 2, 3]));
    const second = await openNatsKv(nc, { bucket });
    expect(await second.get("models.iris")).toEqual({ value: new Uint8Array([1, 2, 3]), revision });
    await (await new Kvm(nc).open(bucket)).destroy();
  });

  it("creates a TTL bucket whose stream ages entries out, keeping one value per key", async () => {
    const bucket = uniqueName("kv");
    await openNatsKv(nc, { bucket, ttlMs: 30_000 });
    const status = await (await new Kvm(nc).open(bucket)).status();
    expect(status.ttl).toBe(30_000);
    expect(status.history).toBe(1);
    await (await new Kvm(nc).open(bucket)).destroy();
  });
});
