import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { openNatsEventBus, type EventBus } from "../../libs/events/index.js";
import { AliasMovedSchema } from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import { createLogger } from "../../libs/log/index.js";
import { buildMlp } from "../../libs/onnx/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { registryEventSubjects } from "../../services/inference/serving/model-manager.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const fraud = exampleModel("fraud");

/** Polls `check` until it holds; the test's own timeout bounds the wait. */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("a replica following registry events", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let nc: NatsConnection;
  let bus: EventBus;
  let model: string;
  const lines: { msg: string; version?: number; alias?: string }[] = [];
  let lookups = 0;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("ev").replace(/_/g, "-");
    for (const seed of [1, 2, 3]) {
      await uploadModelVersion(registry.client, { model, createModel: true, aliases: seed === 1 ? ["production"] : [] }, buildMlp({ ...fraud.mlp!, seed }));
    }
    // Count the replica's alias look-ups, to see which events made it ask the registry.
    const client = new Proxy(registry.client, {
      get(target, property, receiver) {
        if (property === "getModelVersion") lookups++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const logger = createLogger("inference", { level: "debug", write: (line) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
    replica = await startTestReplica({ ...registry, client }, { serve: [{ model, alias: "production" }], logger, config: { instanceCount: 1 } });
    nc = await connect({ servers: testNatsUrl(), name: "test-forger" });
    bus = await openNatsEventBus(nc);
  });

  afterAll(async () => {
    await replica?.stop();
    await bus?.close();
    await nc?.drain();
    await registry?.stop();
  });

  const served = () => replica.replica.manager.list().find((m) => m.aliases.includes("production"))?.version;

  it("does not move production on a forged event: the version comes from the registry", async () => {
    expect(served()).toBe(1);
    const mark = lines.length;
    // Anyone who can publish on NATS could send this; the registry still says version 1.
    await bus.publish(registryEventSubjects.aliasMoved, AliasMovedSchema, create(AliasMovedSchema, { model, alias: "production", version: 3, previousVersion: 1, revision: 1n }), {
      source: "someone/else",
    });
    // A real move after it: the replica handles an alias's events in order, so once this one shows, the forged one was handled.
    await registry.client.setAlias({ model, alias: "production", version: 2 });
    await eventually(() => served() === 2);
    const switches = lines.slice(mark).filter((l) => l.msg === "alias switched").map((l) => l.version);
    expect(switches).toEqual([2]);
  });

  it("drops an event older than one it has seen, without asking the registry", async () => {
    const before = lookups;
    await registry.client.setAlias({ model, alias: "production", version: 3 });
    await eventually(() => served() === 3);
    const afterReal = lookups;
    expect(afterReal).toBeGreaterThan(before);
    // An event with an old revision (as a delayed publish from a concurrent writer would carry), then a real move.
    await bus.publish(registryEventSubjects.aliasMoved, AliasMovedSchema, create(AliasMovedSchema, { model, alias: "production", version: 1, revision: 2n }), {
      source: "tessera/registry",
    });
    await registry.client.setAlias({ model, alias: "production", version: 2 });
    await eventually(() => served() === 2);
    // One look-up for the real move; none for the stale event.
    expect(lookups - afterReal).toBe(1);
  });
});
