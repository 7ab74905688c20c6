import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ModelState, ServedModelSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { ReplicaRecordSchema } from "../../../libs/membership/index.js";
import { ReplicaTable } from "./replica-table.js";

const record = (id: string, models: Array<{ model: string; version: number; state?: ModelState; aliases?: string[] }>) =>
  create(ReplicaRecordSchema, {
    replicaId: id,
    grpcAddress: `${id}:1`,
    httpAddress: `${id}:2`,
    models: models.map((m) => create(ServedModelSchema, { model: m.model, version: m.version, aliases: m.aliases ?? [], state: m.state ?? ModelState.READY })),
  });

describe("ReplicaTable", () => {
  it("lists replicas READY for a version, an alias or any version", () => {
    const table = new ReplicaTable(15_000);
    table.apply("a", record("a", [{ model: "fraud", version: 1, aliases: ["production"] }]), 1, 0);
    table.apply("b", record("b", [{ model: "fraud", version: 2 }]), 2, 0);
    table.apply("c", record("c", [{ model: "fraud", version: 2, state: ModelState.LOADING }]), 3, 0);
    expect(table.serving("fraud", { version: 2 }).map((r) => r.replicaId)).toEqual(["b"]);
    expect(table.serving("fraud", { alias: "production" }).map((r) => r.replicaId)).toEqual(["a"]);
    expect(table.serving("fraud", { any: true }).map((r) => r.replicaId)).toEqual(["a", "b"]);
    expect(table.serving("other", { any: true })).toEqual([]);
    expect(table.readyVersions("fraud")).toEqual([1, 2]);
  });

  it("drops a replica whose version turns not-ready, and one that is deleted", () => {
    const table = new ReplicaTable(15_000);
    table.apply("a", record("a", [{ model: "fraud", version: 1 }]), 1, 0);
    table.apply("a", record("a", [{ model: "fraud", version: 1, state: ModelState.UNLOADING }]), 2, 0);
    expect(table.serving("fraud", { version: 1 })).toEqual([]);
    table.apply("a", undefined, 3, 0);
    expect(table.all()).toEqual([]);
  });

  it("ignores a change older than the one it holds", () => {
    const table = new ReplicaTable(15_000);
    table.apply("a", record("a", [{ model: "fraud", version: 2 }]), 5, 0);
    expect(table.apply("a", undefined, 4, 0)).toBe(false);
    expect(table.serving("fraud", { version: 2 })).toHaveLength(1);
  });

  it("expires a replica whose heartbeats stopped, unless refreshed after an outage", () => {
    const table = new ReplicaTable(15_000);
    table.apply("a", record("a", [{ model: "fraud", version: 1 }]), 1, 0);
    table.apply("b", record("b", [{ model: "fraud", version: 1 }]), 2, 10_000);
    expect(table.expire(15_000)).toEqual([]);
    expect(table.expire(15_001)).toEqual(["a"]);
    table.refreshAll(30_000);
    expect(table.expire(44_000)).toEqual([]);
    expect(table.all().map((r) => r.replicaId)).toEqual(["b"]);
  });

  it("takes the front-end loops a record advertises, and 1 from a record without them (an older replica)", () => {
    const table = new ReplicaTable(15_000);
    table.apply("a", create(ReplicaRecordSchema, { ...record("a", []), frontendLoops: 4 }), 1, 0);
    table.apply("b", record("b", []), 2, 0);
    expect(table.all().map((r) => [r.replicaId, r.frontendLoops])).toEqual([
      ["a", 4],
      ["b", 1],
    ]);
  });
});
