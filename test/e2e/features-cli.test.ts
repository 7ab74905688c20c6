import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FeatureStatus } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { runCli } from "../../mesh/cli/run-cli.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";

// Each test spawns `tessera` processes (a Node start-up each, seconds on a loaded 2-core machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

// The CLI's features commands, run in this process (as `tessera` would) against a real feature service over NATS + Redis.
let feature: TestFeature;
let dir: string;

async function tessera(args: string[], isTTY = false): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli([...args, "--feature", feature.host.grpcAddress], { out: (t) => void (out += t), err: (t) => void (err += t), env: {}, cwd: dir, isTTY });
  return { code, out, err };
}

const defs = `
entities:
  - name: card
    join_key: card_id
    description: a payment card
feature_views:
  - name: card_stats
    entities: [card]
    max_age: 1h
    ttl: 7d
    owner: risk
    features:
      - { name: amount_avg, type: double }
      - { name: txn_count, type: int64 }
      - { name: embedding, type: float_vector, length: 2 }
`;

beforeAll(async () => {
  feature = await startTestFeature();
  dir = await mkdtemp(join(tmpdir(), "tessera-features-"));
  await writeFile(join(dir, "defs.yaml"), defs);
});
afterAll(async () => {
  await feature?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("tessera features", () => {
  it("apply creates, then reports unchanged; a type change fails with the service's reason", async () => {
    let run = await tessera(["features", "apply", "defs.yaml"]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/feature view\s+card_stats\s+v1\s+created/);
    run = await tessera(["features", "apply", "defs.yaml"]);
    expect(run.out).toMatch(/card_stats\s+v1\s+unchanged/);
    await writeFile(join(dir, "changed.yaml"), defs.replace("type: int64", "type: string"));
    run = await tessera(["features", "apply", "changed.yaml"]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/txn_count.*int64.*string.*failed precondition/);
  });

  it("ls lists entities and views with their types", async () => {
    const run = await tessera(["features", "ls"]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/card\s+card_id\s+string\s+v1/);
    expect(run.out).toMatch(/card_stats\s+card\s+v1\s+amount_avg:double txn_count:int64 embedding:float_vector\[2\]\s+1h\s+7d/);
  });

  it("write then get shows the values; an unknown key is '-'", async () => {
    let run = await tessera(["features", "write", "card_stats", "--key", "c1", "--values", '{"amount_avg": 12.5, "txn_count": 3, "embedding": [0.5, 1]}']);
    expect(run.code, run.err).toBe(0);
    run = await tessera(["features", "get", "card_stats", "--key", "c1", "--key", "nobody"]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/c1\s+12\.5\s+3\s+\[0\.5,1\]/);
    expect(run.out).toMatch(/nobody\s+-\s+-\s+-/);
    run = await tessera(["features", "get", "card_stats:txn_count", "--key", "c1", "--json"]);
    expect(JSON.parse(run.out.trim())).toMatchObject({ key: "c1", "card_stats:txn_count": { value: "3", status: "present" } });
  });

  it("write refuses a value of the wrong type before calling", async () => {
    const run = await tessera(["features", "write", "card_stats", "--key", "c1", "--values", '{"txn_count": "many"}']);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/txn_count.*whole number/);
  });

  it("materialize loads the latest row per entity as of --end from CSV, ignores later rows, and rejects bad rows with reasons", async () => {
    const csv = [
      "card_id,event_time,amount_avg,txn_count,embedding,extra",
      "m1,2026-01-01T10:00:00Z,1,1,\"[1,1]\",x",
      "m1,2026-01-01T12:00:00Z,2,2,\"[2,2]\",x",
      "m1,2026-01-02T00:00:00Z,99,99,\"[9,9]\",x",
      "m2,2026-01-01T11:00:00Z,5,5,\"[5,5]\",x",
      "m3,2026-01-01T11:00:00Z,oops,1,\"[1,1]\",x",
      "m4,not-a-time,1,1,\"[1,1]\",x",
      "m5,2026-01-01T11:00:00Z,1,1,\"[1,2,3]\",x",
    ].join("\n");
    await writeFile(join(dir, "rows.csv"), csv);
    const run = await tessera(["features", "materialize", "--view", "card_stats", "--from", "rows.csv", "--start", "2026-01-01T00:00:00Z", "--end", "2026-01-01T23:59:59Z"]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/read 7 rows; 1 after --end/);
    expect(run.out).toMatch(/written 2 entities to card_stats/);
    expect(run.out).toMatch(/rejected 3 rows/);
    expect(run.out).toMatch(/amount_avg.*number/);
    expect(run.out).toMatch(/event_time/);
    expect(run.out).toMatch(/length 2, got 3/);
    expect(run.out).toMatch(/ignored: extra/);
    // Not a terminal: plain progress lines, no carriage returns.
    expect(run.err).toMatch(/reading: 100%/);
    expect(run.err).not.toMatch(/\r/);
    const read = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["m1", "m2", "m3"] });
    expect(read.columns[0]!.values.map((v) => v.kind.value)).toEqual([2, 5, undefined]);
    // Loaded as of Jan 1st: older than the view's max age by now.
    expect(read.columns[0]!.statuses).toEqual([FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.OUTSIDE_MAX_AGE, FeatureStatus.NOT_FOUND]);
  });

  it("materialize reads JSON Lines and draws a bar on a terminal", async () => {
    const now = Date.now();
    const lines = [
      { card_id: "j1", event_time: now - 2000, amount_avg: 1, txn_count: 1, embedding: [1, 1] },
      { card_id: "j1", event_time: now - 1000, amount_avg: 2, txn_count: 2, embedding: [2, 2] },
      "not json",
    ].map((l) => (typeof l === "string" ? l : JSON.stringify(l)));
    await writeFile(join(dir, "rows.jsonl"), lines.join("\n") + "\n");
    const run = await tessera(["features", "materialize", "--view", "card_stats", "--from", "rows.jsonl"], true);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/read 3 rows/);
    expect(run.out).toMatch(/written 1 entities/);
    expect(run.out).toMatch(/1 × not a JSON object/);
    expect(run.err).toMatch(/\rreading \[#+\] 100%/);
    const read = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["j1"] });
    expect(read.columns[0]!.values[0]!.kind.value).toBe(2);
    expect(read.columns[0]!.statuses).toEqual([FeatureStatus.PRESENT]);
  });
});
