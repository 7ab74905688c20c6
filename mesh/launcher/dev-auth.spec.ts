import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { withDevAuth } from "./dev-auth.js";
import { parseTopology } from "./topology.js";

const dir = await mkdtemp(join(tmpdir(), "tessera-dev-auth-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("withDevAuth()", () => {
  it("gives the router a key file and monitoring the same key, for its rollouts' SetRoute", async () => {
    const file = join(dir, "auth.json");
    const { topology, key } = await withDevAuth(parseTopology("router: {}\n", "t.yaml"), file);
    expect(key).toMatch(/^tsk_dev_[0-9a-f]{32}$/);
    expect(topology.router!.env).toMatchObject({ TESSERA_ROUTER_AUTH: "keys", TESSERA_ROUTER_AUTH_FILE: file });
    expect(topology.monitoring.env.TESSERA_ROUTER_API_KEY).toBe(key);
    expect(JSON.parse(await readFile(file, "utf8")).keys[0]).toMatchObject({ id: "dev", key, rpcs: ["*"] });
    // Made once, then reused.
    expect((await withDevAuth(parseTopology("router: {}\n", "t.yaml"), file)).key).toBe(key);
  });

  it("leaves a key the topology gives monitoring, and does nothing with auth off", async () => {
    const own = await withDevAuth(parseTopology("router: {}\nmonitoring: {env: {TESSERA_ROUTER_API_KEY: mine}}\n", "t.yaml"), join(dir, "own.json"));
    expect(own.topology.monitoring.env.TESSERA_ROUTER_API_KEY).toBe("mine");
    const off = await withDevAuth(parseTopology("router: {env: {TESSERA_ROUTER_AUTH: \"off\"}}\n", "t.yaml"), join(dir, "off.json"));
    expect(off.key).toBeUndefined();
    expect(off.topology.monitoring.env.TESSERA_ROUTER_API_KEY).toBeUndefined();
  });
});
