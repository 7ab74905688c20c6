import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { initialRolloutState, RolloutController, type RolloutState, type StepMetrics } from "./rollout-controller.js";
import { checkRolloutSpec, type RolloutSpec } from "./rollout-spec.js";
import type { RouteControl, RouteSnapshot } from "./route-control.js";

/** A route table in memory with compare-and-set on the revision, as RouteControl promises. */
class FakeRoutes implements RouteControl {
  route: RouteSnapshot | undefined = { revision: 1, weights: { 1: 100 } };
  aliases = new Map<string, number>();
  writes: Record<number, number>[] = [];

  async getRoute() {
    return this.route;
  }

  async setWeights(_model: string, weights: Readonly<Record<number, number>>, expectedRevision: number) {
    if (!this.route || this.route.revision !== expectedRevision) return { conflict: this.route! };
    this.route = { revision: this.route.revision + 1, weights: { ...weights } };
    this.writes.push({ ...weights });
    return { revision: this.route.revision };
  }

  async moveAlias(_model: string, alias: string, version: number) {
    this.aliases.set(alias, version);
  }

  /** Someone else edits the route (tessera route set ...). */
  manualChange(weights: Record<number, number>) {
    this.route = { revision: this.route!.revision + 1, weights };
  }
}

const spec: RolloutSpec = checkRolloutSpec({
  model: "fraud",
  baseline: 1,
  candidate: 2,
  steps: [10, 50, 100],
  stepIntervalMs: 60_000,
  analysis: { minRequests: 100, minSuccessRate: 0.99, maxP99Ms: 50, noDriftAlarm: true },
  failureThreshold: 2,
  alias: "production",
});
const good: StepMetrics = { requests: 500, successRate: 0.999, p99Ms: 20, driftAlarm: false };
const bad: StepMetrics = { requests: 500, successRate: 0.8, p99Ms: 20, driftAlarm: false };
const MINUTE = 60_000;

async function start(routes: FakeRoutes): Promise<{ controller: RolloutController; state: RolloutState }> {
  const controller = new RolloutController(routes);
  const { state } = await controller.tick(initialRolloutState(spec, routes.route!, 0), 0, undefined);
  return { controller, state };
}

describe("RolloutController", () => {
  it("walks the steps on passing checks and promotes at 100 %", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    expect(routes.route!.weights).toEqual({ 1: 90, 2: 10 });
    // Before the interval is over nothing moves.
    ({ state } = await controller.tick(state, MINUTE - 1, good));
    expect(routes.writes).toHaveLength(1);
    ({ state } = await controller.tick(state, MINUTE, good));
    expect(routes.route!.weights).toEqual({ 1: 50, 2: 50 });
    ({ state } = await controller.tick(state, 2 * MINUTE, good));
    expect(routes.route!.weights).toEqual({ 1: 0, 2: 100 });
    const done = await controller.tick(state, 3 * MINUTE, good);
    expect(done.state.phase).toBe("promoted");
    expect(done.events).toEqual([{ kind: "promoted" }]);
    expect(routes.aliases.get("production")).toBe(2);
  });

  it("rolls back to the baseline after `threshold` failed checks in a row, not after one", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    let events;
    ({ state, events } = await controller.tick(state, MINUTE, bad));
    expect(events).toEqual([{ kind: "check_failed", failedChecks: 1, reason: "success rate 0.800 < 0.99" }]);
    expect(state.phase).toBe("progressing");
    ({ state, events } = await controller.tick(state, 2 * MINUTE, bad));
    expect(state.phase).toBe("rolled_back");
    expect(events.at(-1)).toMatchObject({ kind: "rolled_back" });
    expect(routes.route!.weights).toEqual({ 1: 100, 2: 0 });
    expect(routes.aliases.size).toBe(0);
  });

  it("forgives a failed check followed by a pass", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    ({ state } = await controller.tick(state, MINUTE, { ...good, p99Ms: 80 }));
    expect(state.failedChecks).toBe(1);
    ({ state } = await controller.tick(state, 2 * MINUTE, good));
    expect(state.failedChecks).toBe(0);
    expect(routes.route!.weights).toEqual({ 1: 50, 2: 50 });
  });

  it("fails a check on a drift alarm and waits on too few requests", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    let events;
    ({ state, events } = await controller.tick(state, MINUTE, { ...good, requests: 10 }));
    expect(events).toEqual([]);
    ({ state, events } = await controller.tick(state, MINUTE, { ...good, driftAlarm: true }));
    expect(events).toEqual([{ kind: "check_failed", failedChecks: 1, reason: "a drift alarm is raised for the candidate" }]);
  });

  it("rolls back a candidate that gets no requests instead of waiting at its first step for ever", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    let events;
    // Default limit: two more intervals of waiting, then a failed check; the next check waits again, then rolls back.
    for (const minutes of [1, 2]) {
      ({ state, events } = await controller.tick(state, minutes * MINUTE, undefined));
      expect(events).toEqual([]);
    }
    ({ state, events } = await controller.tick(state, 3 * MINUTE, undefined));
    expect(events).toEqual([{ kind: "check_failed", failedChecks: 1, reason: expect.stringContaining("no candidate requests in 3 step intervals") }]);
    ({ state, events } = await controller.tick(state, 5 * MINUTE, undefined));
    expect(events).toEqual([]);
    ({ state, events } = await controller.tick(state, 6 * MINUTE, undefined));
    expect(state.phase).toBe("rolled_back");
    expect(state.reason).toContain("2 failed checks in a row; last: no candidate requests");
    expect(routes.route!.weights).toEqual({ 1: 100, 2: 0 });
  });

  it("pauses instead of overwriting a manual route change, and resumes from the route as it is", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    routes.manualChange({ 1: 70, 2: 30 });
    let events;
    ({ state, events } = await controller.tick(state, MINUTE, good));
    expect(state.phase).toBe("paused");
    expect(events[0]).toMatchObject({ kind: "paused" });
    expect(state.reason).toContain("changed by someone else");
    expect(routes.route!.weights).toEqual({ 1: 70, 2: 30 });
    // Paused: ticks do nothing.
    expect((await controller.tick(state, 5 * MINUTE, good)).events).toEqual([]);
    ({ state, events } = await controller.resume(state, 6 * MINUTE));
    expect(events.map((e) => e.kind)).toEqual(["resumed", "step"]);
    expect(routes.route!.weights).toEqual({ 1: 90, 2: 10 });
    expect(state.phase).toBe("progressing");
  });

  it("pauses when its own write loses a compare-and-set race", async () => {
    const routes = new FakeRoutes();
    const controller = new RolloutController(routes);
    const initial = initialRolloutState(spec, routes.route!, 0);
    routes.manualChange({ 1: 100 });
    const { state } = await controller.tick({ ...initial }, 0, undefined);
    expect(state.phase).toBe("paused");
    expect(routes.writes).toEqual([]);
  });

  it("pauses and resumes on request, and aborts back to the baseline", async () => {
    const routes = new FakeRoutes();
    const started = await start(routes);
    const controller = started.controller;
    let state = started.state;
    ({ state } = controller.pause(state));
    expect(state).toMatchObject({ phase: "paused", reason: "paused by request" });
    ({ state } = await controller.resume(state, MINUTE));
    expect(state.phase).toBe("progressing");
    const aborted = await controller.abort(state);
    expect(aborted.state.phase).toBe("aborted");
    expect(aborted.events).toEqual([{ kind: "aborted" }]);
    expect(routes.route!.weights).toEqual({ 1: 100, 2: 0 });
  });

  it("picks up where it was from its stored state after a restart", async () => {
    const routes = new FakeRoutes();
    const { state } = await start(routes);
    const stored = JSON.parse(JSON.stringify(state)) as RolloutState;
    const restarted = new RolloutController(routes);
    const next = await restarted.tick(stored, MINUTE, good);
    expect(next.events).toEqual([{ kind: "step", weight: 50 }]);
  });
});

describe("checkRolloutSpec()", () => {
  it.each([
    [{ steps: [10, 50] }, "must end at 100"],
    [{ steps: [50, 10, 100] }, "must rise"],
    [{ steps: [0, 100] }, "steps[0]"],
    [{ candidate: 1 }, "already the baseline"],
    [{ failureThreshold: 0 }, "failure threshold"],
    [{ stepIntervalMs: 10 }, "at least 1 s"],
  ])("refuses %o with INVALID_ARGUMENT", (change, message) => {
    try {
      checkRolloutSpec({ ...spec, ...change });
      throw new Error("accepted");
    } catch (error) {
      expect(ConnectError.from(error).code).toBe(Code.InvalidArgument);
      expect(ConnectError.from(error).rawMessage).toContain(message);
    }
  });

  describe("a process that dies between its route write and its state write", () => {
    /** What the driver stored before asking the router: the intent, kept as the dead process left it. */
    async function crashAfterIntent(routes: FakeRoutes, state: RolloutState, nowMs: number, landed: boolean): Promise<RolloutState> {
      let planned: RolloutState | undefined;
      const writing = new RolloutController(routes).tick(state, nowMs, good, async (p) => {
        planned = p;
        // Killed before the router answered: the write either landed or not.
        if (!landed) throw new Error("killed");
      });
      await writing.catch(() => undefined);
      return planned!;
    }

    it("adopts a write that landed, once, instead of pausing on its own change", async () => {
      const routes = new FakeRoutes();
      const { controller, state } = await start(routes);
      const left = await crashAfterIntent(routes, state, MINUTE, true);
      expect(left.pending?.weights).toEqual({ 1: 50, 2: 50 });
      expect(routes.route!.weights).toEqual({ 1: 50, 2: 50 });
      const next = await controller.tick(left, MINUTE + 5_000, good);
      expect(next.state).toMatchObject({ phase: "progressing", step: 1, revision: routes.route!.revision });
      expect(next.state.pending).toBeUndefined();
      expect(next.events).toEqual([{ kind: "step", weight: 50 }]);
      expect(routes.writes).toEqual([{ 1: 90, 2: 10 }, { 1: 50, 2: 50 }]);
    });

    it("makes a write that had not landed, once", async () => {
      const routes = new FakeRoutes();
      const { controller, state } = await start(routes);
      let planned: RolloutState | undefined;
      await controller.tick(state, MINUTE, good, async (p) => {
        planned = p;
        throw new Error("killed before the router was asked");
      }).catch(() => undefined);
      expect(routes.writes).toEqual([{ 1: 90, 2: 10 }]);
      const next = await controller.tick(planned!, MINUTE + 5_000, good);
      expect(next.state).toMatchObject({ phase: "progressing", step: 1 });
      expect(next.events).toEqual([{ kind: "step", weight: 50 }]);
      expect(routes.writes).toEqual([{ 1: 90, 2: 10 }, { 1: 50, 2: 50 }]);
    });

    it("still pauses when the route was changed to something else than the pending write", async () => {
      const routes = new FakeRoutes();
      const { controller, state } = await start(routes);
      const left = await crashAfterIntent(routes, state, MINUTE, true);
      routes.manualChange({ 1: 70, 2: 30 });
      const next = await controller.tick(left, MINUTE + 5_000, good);
      expect(next.state).toMatchObject({ phase: "paused", step: 0 });
      expect(next.state.reason).toContain("changed by someone else");
      expect(routes.route!.weights).toEqual({ 1: 70, 2: 30 });
    });

    it("resumes a rollout paused with a write pending at the step that write reached", async () => {
      const routes = new FakeRoutes();
      const { controller, state } = await start(routes);
      const left = await crashAfterIntent(routes, state, MINUTE, true);
      const paused = controller.pause(left).state;
      const resumed = await controller.resume(paused, 2 * MINUTE);
      expect(resumed.state).toMatchObject({ phase: "progressing", step: 1, revision: routes.route!.revision });
      expect(resumed.state.pending).toBeUndefined();
      expect(routes.route!.weights).toEqual({ 1: 50, 2: 50 });
    });
  });
});
