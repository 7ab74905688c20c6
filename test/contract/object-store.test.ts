import { jetstreamManager } from "@nats-io/jetstream";
import { readdir, readFile, rm, writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../libs/errors/index.js";
import { connectNats, type NatsConnection } from "../../libs/nats/index.js";
import { openDirectoryObjectStore, openNatsObjectStore } from "../../libs/store/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { expectCode } from "./expect-code.js";
import { objectStoreContract, patternBytes } from "./object-store.contract.js";

let nc: NatsConnection;
beforeAll(async () => {
  nc = await connectNats({ servers: testNatsUrl(), name: "contract-object-store" });
});
afterAll(async () => {
  await nc.close();
});

objectStoreContract("embedded (directory)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tessera-objects-"));
  return { store: await openDirectoryObjectStore(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
});

objectStoreContract("NATS JetStream Object Store", async () => {
  const bucket = uniqueName("obj");
  const store = await openNatsObjectStore(nc, { bucket });
  return {
    store,
    async dispose() {
      await (await jetstreamManager(nc)).streams.delete(`OBJ_${bucket}`);
    },
  };
});

describe("openDirectoryObjectStore()", () => {
  it("fails a read with DATA_LOSS when the file on disk was corrupted", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tessera-objects-"));
    const store = await openDirectoryObjectStore(dir);
    await store.put("models/x", patternBytes(100_000));
    const [file] = (await readdir(dir)).filter((f) => !f.startsWith("."));
    const path = join(dir, file as string);
    const raw = await readFile(path);
    raw[raw.byteLength - 1] = (raw[raw.byteLength - 1] as number) ^ 0xff;
    await writeFile(path, raw);
    const read = async () => {
      for await (const _chunk of (await store.get("models/x")) ?? []) {
        // drain
      }
    };
    await expectCode(read(), Code.DataLoss);
    await rm(dir, { recursive: true, force: true });
  });

  it("leaves no temp file behind after a failed put", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tessera-objects-"));
    const store = await openDirectoryObjectStore(dir);
    async function* broken(): AsyncIterable<Uint8Array> {
      yield new Uint8Array(10);
      throw new Error("interrupted");
    }
    await expect(store.put("models/x", broken())).rejects.toThrow("interrupted");
    expect(await readdir(dir)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("openNatsObjectStore()", () => {
  it("answers INVALID_ARGUMENT for a bucket name NATS would refuse", async () => {
    await expectCode(openNatsObjectStore(nc, { bucket: "has.dots" }), Code.InvalidArgument);
  });

  it("reads an object with a small read-ahead, chunk by chunk", async () => {
    const bucket = uniqueName("obj");
    const store = await openNatsObjectStore(nc, { bucket, readAheadChunks: 1 });
    const bytes = patternBytes(1024 * 1024 + 5, 11);
    await store.put("models/x", bytes);
    const parts: Uint8Array[] = [];
    for await (const chunk of (await store.get("models/x")) ?? []) parts.push(chunk);
    expect(parts.length).toBeGreaterThan(1);
    expect(Buffer.compare(Buffer.concat(parts), bytes)).toBe(0);
    await (await jetstreamManager(nc)).streams.delete(`OBJ_${bucket}`);
  });
});
