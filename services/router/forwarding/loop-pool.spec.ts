import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Metadata } from "@grpc/grpc-js";
import { createLogger } from "../../../libs/log/index.js";
import { FRONTEND_LOOP_HEADER } from "../../../libs/membership/index.js";
import { callH2 } from "./call-h2.js";
import { callRaw } from "./call-raw.js";
import { H2Sessions } from "./h2-sessions.js";
import { DUPLICATES_PER_LOOP } from "./loop-pool.js";
import { UpstreamChannels } from "./upstream-channels.js";

// The pool against a real HTTP/2 server on loopback that answers gRPC
// calls as a replica's front-end loops do: each connection is on one loop
// and every answer says which. The server, not the kernel, places the
// connections here (the k-th connection on loops[k]), so what the pool does
// with a connection on a loop it already holds is seen every time.

interface LoopServer {
  address: string;
  /** Connections accepted, in order, with the loop each was put on. */
  readonly connections: { session: http2.ServerHttp2Session; loop: number }[];
  /** Calls answered per loop. */
  readonly calls: Map<number, number>;
  open(): number;
  close(): Promise<void>;
}

const servers: LoopServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** `place(k)`: the loop the k-th connection lands on. */
async function loopServer(place: (k: number) => number): Promise<LoopServer> {
  const server = http2.createServer();
  const connections: LoopServer["connections"] = [];
  const calls = new Map<number, number>();
  server.on("session", (session) => connections.push({ session, loop: place(connections.length) }));
  server.on("stream", (stream) => {
    const loop = connections.find((c) => c.session === stream.session)!.loop;
    stream.resume();
    stream.on("end", () => {
      calls.set(loop, (calls.get(loop) ?? 0) + 1);
      stream.respond({ ":status": 200, "content-type": "application/grpc", [FRONTEND_LOOP_HEADER]: String(loop) }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x6f, 0x6b]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const handle: LoopServer = {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    calls,
    open: () => connections.filter((c) => !c.session.closed && !c.session.destroyed).length,
    close: () => {
      connections.forEach((c) => c.session.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(handle);
  return handle;
}

function capturingLogger() {
  const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
  return { lines, logger: createLogger("router", { level: "debug", write: (line) => lines.push(JSON.parse(line)) }) };
}

const h2Call = (sessions: H2Sessions, address: string, loops: number) =>
  sessions.call(address, loops, (session) => callH2(session, "/t.S/M", Buffer.from("x"), new Metadata(), Date.now() + 10_000, new AbortController().signal, 1024));

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: not within 10 s`);
}

const sorted = (loops: (number | undefined)[]) => [...loops].sort();

describe("LoopPool (H2Sessions)", () => {
  it("opens connections until it has one on each loop, closing those that land on a loop it holds, then spreads calls over them", async () => {
    const server = await loopServer((k) => [0, 0, 0, 1][k] ?? 1);
    const { logger, lines } = capturingLogger();
    const sessions = new H2Sessions(logger);
    try {
      for (let i = 0; i < 20 && sorted(sessions.loopsOf(server.address)).join() !== "0,1"; i++) await h2Call(sessions, server.address, 2);
      expect(sorted(sessions.loopsOf(server.address))).toEqual([0, 1]);
      // Two connections at first, two more in place of the two that landed on loop 0 beside the first.
      expect(server.connections.length).toBe(4);
      await until(() => server.open() === 2, "the duplicates closed");

      server.calls.clear();
      for (let i = 0; i < 10; i++) await h2Call(sessions, server.address, 2);
      // Nothing in flight: turn about.
      expect(server.calls).toEqual(new Map([[0, 5], [1, 5]]));
      // Calls at once go to the connection with the fewest in flight: half each.
      server.calls.clear();
      await Promise.all(Array.from({ length: 10 }, () => h2Call(sessions, server.address, 2)));
      expect(server.calls).toEqual(new Map([[0, 5], [1, 5]]));
      expect(server.connections.length).toBe(4);
      expect(lines.filter((l) => l.level === "warn")).toEqual([]);
    } finally {
      sessions.closeAll();
    }
  });

  it(`keeps what it has after ${DUPLICATES_PER_LOOP} duplicates per loop, and says so once`, async () => {
    const server = await loopServer(() => 0);
    const { logger, lines } = capturingLogger();
    const sessions = new H2Sessions(logger);
    try {
      for (let i = 0; i < 80; i++) await h2Call(sessions, server.address, 2);
      expect(server.connections.length).toBe(2 + DUPLICATES_PER_LOOP * 2);
      expect(sessions.loopsOf(server.address)).toEqual([0, 0]);
      expect(server.calls.get(0)).toBe(80);
      const warnings = lines.filter((l) => l.level === "warn");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ msg: "connections to a replica reached only some of its front-end loops; keeping them", address: server.address, loops: 2, reached: 1 });
    } finally {
      sessions.closeAll();
    }
  });

  it("searches again a while after it gave up, and finds a loop that was down during the search", async () => {
    let back = false;
    const server = await loopServer(() => (back ? 1 : 0));
    const { logger, lines } = capturingLogger();
    let nowMs = 0;
    const sessions = new H2Sessions(logger, { searchAgainAfterMs: 30_000, now: () => nowMs });
    try {
      for (let i = 0; i < 80; i++) await h2Call(sessions, server.address, 2);
      expect(server.connections.length).toBe(2 + DUPLICATES_PER_LOOP * 2);
      back = true;
      // Within the wait, the pool keeps what it has.
      nowMs = 29_999;
      await h2Call(sessions, server.address, 2);
      expect(server.connections.length).toBe(2 + DUPLICATES_PER_LOOP * 2);
      nowMs = 30_000;
      for (let i = 0; i < 4; i++) await h2Call(sessions, server.address, 2);
      expect(sorted(sessions.loopsOf(server.address))).toEqual([0, 1]);
      expect(server.connections.length).toBe(3 + DUPLICATES_PER_LOOP * 2);
      expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);
    } finally {
      sessions.closeAll();
    }
  });

  it("keeps one connection to a replica that names no loop (one loop, or older than the header)", async () => {
    const server = await loopServer(() => 0);
    const sessions = new H2Sessions(capturingLogger().logger);
    try {
      for (let i = 0; i < 5; i++) await h2Call(sessions, server.address, 1);
      for (let i = 0; i < 5; i++) await h2Call(sessions, server.address, 0);
      expect(server.connections.length).toBe(1);
    } finally {
      sessions.closeAll();
    }
  });

  it("closes every connection of a replica that leaves membership, and all of them on closeAll", async () => {
    const [stays, leaves] = await Promise.all([loopServer((k) => k % 2), loopServer((k) => k % 2)]);
    const sessions = new H2Sessions(capturingLogger().logger);
    try {
      for (let i = 0; i < 4; i++) await Promise.all([h2Call(sessions, stays.address, 2), h2Call(sessions, leaves.address, 2)]);
      expect([stays.open(), leaves.open()]).toEqual([2, 2]);
      sessions.retain(new Set([stays.address]));
      await until(() => leaves.open() === 0, "the departed replica's connections closed");
      expect(stays.open()).toBe(2);
      expect(sessions.loopsOf(leaves.address)).toEqual([]);
      sessions.closeAll();
      await until(() => stays.open() === 0, "every connection closed");
    } finally {
      sessions.closeAll();
    }
  });

  it("opens another connection in place of one the replica says GOAWAY on, or that drops (a loop died)", async () => {
    const server = await loopServer((k) => k % 2);
    const sessions = new H2Sessions(capturingLogger().logger);
    try {
      for (let i = 0; i < 4; i++) await h2Call(sessions, server.address, 2);
      expect(sorted(sessions.loopsOf(server.address))).toEqual([0, 1]);
      // Loop 0 drains (GOAWAY), loop 1 dies (its connection just goes).
      server.connections[0]!.session.goaway();
      server.connections[1]!.session.destroy();
      await until(() => sessions.loopsOf(server.address).length === 0, "the router saw both go");
      for (let i = 0; i < 4; i++) await h2Call(sessions, server.address, 2);
      expect(server.connections.length).toBe(4);
      expect(sorted(sessions.loopsOf(server.address))).toEqual([0, 1]);
    } finally {
      sessions.closeAll();
    }
  });

  it("follows a replica whose loop count changes", async () => {
    const server = await loopServer((k) => k % 3);
    const sessions = new H2Sessions(capturingLogger().logger);
    try {
      for (let i = 0; i < 4; i++) await h2Call(sessions, server.address, 2);
      expect(server.open()).toBe(2);
      for (let i = 0; i < 6; i++) await h2Call(sessions, server.address, 3);
      expect(sorted(sessions.loopsOf(server.address))).toEqual([0, 1, 2]);
      expect(server.open()).toBe(3);
      await h2Call(sessions, server.address, 1);
      expect(sessions.loopsOf(server.address)).toHaveLength(1);
      await until(() => server.open() === 1, "the extra connections closed");
    } finally {
      sessions.closeAll();
    }
  });
});

describe("LoopPool (UpstreamChannels, grpc-js)", () => {
  it("keeps a channel, each with its own connection, on each loop", async () => {
    const server = await loopServer((k) => [0, 0, 1][k] ?? 1);
    const channels = new UpstreamChannels(1024, capturingLogger().logger);
    try {
      for (let i = 0; i < 20 && sorted(channels.loopsOf(server.address)).join() !== "0,1"; i++) {
        const response = await channels.call(server.address, 2, (channel) => callRaw(channel, "/t.S/M", Buffer.from("x"), new Metadata(), Date.now() + 10_000, new AbortController().signal));
        expect(response.body.toString()).toBe("ok");
      }
      expect(sorted(channels.loopsOf(server.address))).toEqual([0, 1]);
      expect(server.connections.length).toBe(3);
      server.calls.clear();
      for (let i = 0; i < 6; i++) await channels.call(server.address, 2, (channel) => callRaw(channel, "/t.S/M", Buffer.from("x"), new Metadata(), Date.now() + 10_000, new AbortController().signal));
      expect(server.calls).toEqual(new Map([[0, 3], [1, 3]]));
      channels.retain(new Set());
      await until(() => server.open() === 0, "the channels' connections closed");
    } finally {
      channels.closeAll();
    }
  });
});
