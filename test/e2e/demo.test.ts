import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { testNatsUrl, testRedisUrl } from "../../libs/testing/index.js";
import { repoRoot } from "../../mesh/launcher/repo-root.js";
import { runNode } from "../support/run-node.js";

// `npm start` as a person runs it (built first, as `npm test` does), over the
// suite's NATS and Redis: the mesh up, predictions through the router, then
// two rollouts that must end one promoted and one rolled back.
const demo = join(repoRoot(), "dist", "mesh", "demo.js");

const runDemo = () => runNode(demo, [], { env: { NATS_URL: testNatsUrl(), REDIS_URL: testRedisUrl() } });

describe("npm start (the demo)", () => {
  it("serves fraud through the router, promotes a healthy version, rolls a broken one back by itself, and exits 0", { timeout: 300_000 }, async () => {
    if (!existsSync(demo)) throw new Error(`${demo} is missing: run \`npm run build\` first (\`npm test\` does)`);
    const run = await runDemo();
    expect(run.stderr).not.toContain("demo failed");
    expect(run.code).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/router {5}gRPC 127\.0\.0\.1:\d+/);
    expect(out).toMatch(/row 0: score (\d\.\d{6}) {2}\(reference \1/);
    // The healthy candidate walks 25 → 50 → 100 and is promoted.
    const healthy = out.slice(out.indexOf("rollout of fraud v2"), out.indexOf("rollout of fraud v3"));
    expect(healthy).toMatch(/step 25 % {3}route v1=75 v2=25/);
    expect(healthy).toMatch(/check passed .*→ step 50 % {3}route v1=50 v2=50/);
    expect(healthy).toMatch(/check passed .*→ step 100 % {3}route v1=0 v2=100/);
    expect(healthy).toMatch(/→ promoted: all traffic on v2, alias production moved to v2/);
    // The broken one fails its checks on its errors and goes back to 0 % without being told.
    const broken = out.slice(out.indexOf("rollout of fraud v3"));
    expect(broken).toMatch(/check failed \(1 of 2\): success rate 0\.000 < 0\.99/);
    expect(broken).toMatch(/rolled back by itself: route v2=100 v3=0 {2}\(2 failed checks in a row; last: success rate 0\.000 < 0\.99\)/);
    expect(broken).not.toContain("promoted");
    expect(out).toMatch(/final: route v2=100 v3=0, alias production → v2/);
    expect(out.trimEnd().endsWith("done")).toBe(true);
  });
});
