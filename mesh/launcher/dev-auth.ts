import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Topology } from "./topology.js";

export interface DevAuth {
  readonly topology: Topology;
  /** The dev key, when the router runs with keys; undefined when auth is off or the topology brings its own file. */
  readonly key: string | undefined;
}

/**
 * The router requires credentials unless told otherwise, so `tessera up`
 * gives a laptop mesh a dev key with every right: made once, kept in
 * `file` (mode 0600) and reused, so scripts keep working across restarts.
 */
export async function withDevAuth(topology: Topology, file: string): Promise<DevAuth> {
  const router = topology.router;
  if (!router || router.env.TESSERA_ROUTER_AUTH === "off" || router.env.TESSERA_ROUTER_AUTH_FILE) return { topology, key: undefined };
  let key: string | undefined;
  try {
    const existing = JSON.parse(await readFile(file, "utf8")) as { keys?: Array<{ id?: string; key?: string }> };
    key = existing.keys?.find((k) => k.id === "dev")?.key;
  } catch {
    key = undefined;
  }
  if (!key) {
    key = `tsk_dev_${randomBytes(16).toString("hex")}`;
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify({ keys: [{ id: "dev", key, rpcs: ["*"], models: ["*"] }] }, null, 2) + "\n", { mode: 0o600 });
  }
  // Monitoring's rollouts call the router's SetRoute: they get the key too, unless the topology gives them one.
  const monitoring = { ...topology.monitoring, env: { TESSERA_ROUTER_API_KEY: key, ...topology.monitoring.env } };
  return { topology: { ...topology, monitoring, router: { ...router, env: { ...router.env, TESSERA_ROUTER_AUTH: "keys", TESSERA_ROUTER_AUTH_FILE: file } } }, key };
}
