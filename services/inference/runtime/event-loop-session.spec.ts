import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { exampleModel } from "../../../mesh/models/index.js";
import { EventLoopSession } from "./event-loop-session.js";

const fraud = exampleModel("fraud").build();
const row = () => ({ features: new ort.Tensor("float32", Float32Array.from({ length: 16 }, (_, i) => Math.sin(i)), [1, 16]) });
const outcome = (run: Promise<unknown>) => run.then(() => "OK" as const, (e: unknown) => ConnectError.from(e).code);

describe("EventLoopSession", () => {
  it("runs on the event loop: the run is done before a callback queued after it", async () => {
    const session = await EventLoopSession.create(fraud, {});
    const order: string[] = [];
    const run = session.run(row()).then(() => order.push("run"));
    await new Promise<void>((resolve) => setImmediate(() => (order.push("event loop"), resolve())));
    await run;
    await session.release();
    expect(order).toEqual(["run", "event loop"]);
  });

  it("takes turns with the runs given at once: all run in one loop turn, each timed from its own turn", async () => {
    const session = await EventLoopSession.create(fraud, {});
    const alone = (await session.run(row())).results.score!.data as Float32Array;
    let turnOver = false;
    const calledAt = performance.now();
    const runs = Array.from({ length: 8 }, () => session.run(row()).then((run) => ({ ...run, turnOver })));
    // Queued after the runtime's immediates (made in the microtasks of the run() calls): it fires after all 8 ran.
    await Promise.resolve();
    setImmediate(() => (turnOver = true));
    const done = await Promise.all(runs);
    const elapsedUs = (performance.now() - calledAt) * 1000;
    await session.release();
    expect(done.map((d) => d.turnOver)).toEqual(Array(8).fill(false));
    for (const d of done) expect(Array.from(d.results.score!.data as Float32Array)).toEqual(Array.from(alone));
    // One after another, each timed alone: their own times add up to no more than the whole, and none
    // waited longer than it took. Times that included the runs ahead would add up to several times it.
    expect(done.reduce((sum, d) => sum + d.runUs, 0)).toBeLessThanOrEqual(elapsedUs);
    for (const d of done) expect(d.waitedUs + d.runUs).toBeLessThanOrEqual(elapsedUs);
  });

  it("lets a run in flight finish and answer when released, then answers UNAVAILABLE", async () => {
    const session = await EventLoopSession.create(fraud, {});
    const inFlight = session.run(row());
    await session.release();
    expect((await inFlight).results.score!.dims).toEqual([1, 1]);
    expect(session.alive).toBe(false);
    expect(await outcome(session.run(row()))).toBe(Code.Unavailable);
    // A second release has nothing left to free and does not hang.
    await session.release();
  });

  it("answers a run in flight UNAVAILABLE when it crashes, says it died once, and everything after UNAVAILABLE", async () => {
    const session = await EventLoopSession.create(fraud, {});
    const deaths: Error[] = [];
    session.onDeath = (error) => deaths.push(error);
    const inFlight = outcome(session.run(row()));
    await session.crash();
    expect(await inFlight).toBe(Code.Unavailable);
    expect(deaths).toHaveLength(1);
    expect(deaths[0]?.message).toMatch(/event-loop session died/);
    expect(session.alive).toBe(false);
    expect(await outcome(session.run(row()))).toBe(Code.Unavailable);
  });

  it("lets a run in flight answer when terminated (it cannot be cut), and does not call itself dead", async () => {
    const session = await EventLoopSession.create(fraud, {});
    let died = false;
    session.onDeath = () => (died = true);
    const inFlight = outcome(session.run(row()));
    await session.terminate();
    expect(await inFlight).toBe("OK");
    expect(await outcome(session.run(row()))).toBe(Code.Unavailable);
    expect(died).toBe(false);
    expect(session.alive).toBe(false);
  });

  it("refuses to hang: a stuck run on the event loop would stop the whole replica", async () => {
    const session = await EventLoopSession.create(fraud, {});
    expect(() => session.hang()).toThrow(/use thread placement/);
    expect(session.alive).toBe(true);
    await session.release();
  });
});
