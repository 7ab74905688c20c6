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

  it("lets a run in flight finish and answer when released, then answers UNAVAILABLE", async () => {
    const session = await EventLoopSession.create(fraud, {});
    const inFlight = session.run(row());
    await session.release();
    expect((await inFlight).score!.dims).toEqual([1, 1]);
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
