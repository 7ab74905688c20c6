import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceEndpoint } from "../launcher/running-mesh.js";
import { watchUntilReady } from "./watch-until-ready.js";

/** A /readyz that answers 503 until told otherwise, counting the polls. */
async function readyz(): Promise<{ server: Server; address: string; polls: () => number; becomeReady: () => void }> {
  let polls = 0;
  let ready = false;
  const server = createServer((request, response) => {
    polls++;
    response.writeHead(ready ? 200 : 503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, address: `127.0.0.1:${port}`, polls: () => polls, becomeReady: () => (ready = true) };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 3_000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe("watchUntilReady()", () => {
  it("keeps at most one abort listener on the signal however many times it polls, and says when the replica turns ready", async () => {
    const endpoint = await readyz();
    servers.push(endpoint.server);
    const replica: ServiceEndpoint = { name: "inference-0", kind: "inference", grpcAddress: "127.0.0.1:1", httpAddress: endpoint.address, logFile: "-", serve: ["fraud@production"] };
    const stop = new AbortController();
    const lines: string[] = [];
    let most = 0;
    const watching = watchUntilReady([replica], new Map([["inference-0", { state: "waiting", missing: ["fraud@production"] }]]), {
      signal: stop.signal,
      out: (line) => lines.push(line),
      intervalMs: 1,
    });
    // 30 polls: well past the 10 listeners after which Node warns of a leak.
    await until(() => {
      most = Math.max(most, getEventListeners(stop.signal, "abort").length);
      return endpoint.polls() >= 30;
    });
    expect(most).toBeLessThanOrEqual(1);
    endpoint.becomeReady();
    await watching;
    expect(lines).toEqual(["inference-0 is ready: serving fraud@production\n"]);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });

  it("returns at once when the signal fires mid-wait", async () => {
    const endpoint = await readyz();
    servers.push(endpoint.server);
    const replica: ServiceEndpoint = { name: "inference-0", kind: "inference", grpcAddress: "127.0.0.1:1", httpAddress: endpoint.address, logFile: "-", serve: ["fraud@production"] };
    const stop = new AbortController();
    const watching = watchUntilReady([replica], new Map([["inference-0", { state: "loading" }]]), { signal: stop.signal, out: () => {}, intervalMs: 600_000 });
    stop.abort();
    await watching;
    expect(endpoint.polls()).toBe(0);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
  });
});
