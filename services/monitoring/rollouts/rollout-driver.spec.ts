import { describe, expect, it } from "vitest";
import { createMemoryEventBus, type BusEvent, type EventBus } from "../../../libs/events/index.js";
import { RolloutSteppedSchema, type RolloutStepped } from "../../../libs/gen/tessera/events/v1/rollout_events_pb.js";
import { silentLogger } from "../../../libs/log/index.js";
import { createMemoryKvStore } from "../../../libs/store/index.js";
import { initialRolloutState } from "./rollout-controller.js";
import { ROLLOUT_STEPPED_SUBJECT, RolloutDriver } from "./rollout-driver.js";
import { checkRolloutSpec } from "./rollout-spec.js";
import type { RouteControl, RouteSnapshot } from "./route-control.js";

class MemoryRoutes implements RouteControl {
  route: RouteSnapshot = { revision: 1, weights: { 1: 100 } };
  writes = 0;
  async getRoute() {
    return this.route;
  }
  async setWeights(_model: string, weights: Readonly<Record<number, number>>, expectedRevision: number) {
    if (this.route.revision !== expectedRevision) return { conflict: this.route };
    this.writes++;
    this.route = { revision: this.route.revision + 1, weights: { ...weights } };
    return { revision: this.route.revision };
  }
  async moveAlias() {}
}

/** The in-process bus, with publishes failing while `down` (NATS away). */
function flakyBus(inner: EventBus): EventBus & { down: boolean } {
  const bus: EventBus & { down: boolean } = {
    down: false,
    publish: ((...args: Parameters<EventBus["publish"]>) => (bus.down ? Promise.reject(new Error("NATS is away")) : inner.publish(...args))) as EventBus["publish"],
    subscribe: inner.subscribe.bind(inner),
    close: inner.close.bind(inner),
  };
  return bus;
}

const spec = checkRolloutSpec({
  model: "fraud",
  baseline: 1,
  candidate: 2,
  steps: [10, 100],
  stepIntervalMs: 3_600_000,
  analysis: { minRequests: 1, minSuccessRate: 0.5, maxP99Ms: 1000, noDriftAlarm: false },
  failureThreshold: 2,
  alias: "production",
});

describe("RolloutDriver's outbox", () => {
  it("keeps an event it could not publish and sends it on a later tick, with the same id, after the step it reports is stored", async () => {
    const states = createMemoryKvStore();
    const routes = new MemoryRoutes();
    const events = flakyBus(createMemoryEventBus({ logger: silentLogger }));
    const seen: BusEvent<RolloutStepped>[] = [];
    await events.subscribe(ROLLOUT_STEPPED_SUBJECT, RolloutSteppedSchema, (e) => void seen.push(e));
    const driver = new RolloutDriver({
      states,
      leases: createMemoryKvStore(),
      routes,
      registry: undefined as never,
      metrics: () => undefined,
      driftAlarm: () => false,
      events,
      logger: silentLogger,
      tickMs: 3_600_000,
    });
    await states.create("fraud", new TextEncoder().encode(JSON.stringify(initialRolloutState(spec, routes.route, Date.now()))));
    const stored = async () => JSON.parse(new TextDecoder().decode((await states.get("fraud"))!.value)) as { step: number; outbox: { id: string }[] };

    events.down = true;
    await driver.tickAll();
    expect(routes.route.weights).toEqual({ 1: 90, 2: 10 });
    expect(await stored()).toMatchObject({ step: 0, outbox: [{ event: { kind: "step", weight: 10 } }] });
    const id = (await stored()).outbox[0]!.id;
    expect(seen).toEqual([]);

    events.down = false;
    await driver.tickAll();
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ id, message: { weight: 10 } });
    expect((await stored()).outbox).toEqual([]);

    // A process that died after publishing and before emptying the outbox: the retry carries the same id.
    const entry = (await states.get("fraud"))!;
    const before = JSON.parse(new TextDecoder().decode(entry.value)) as object;
    await states.update("fraud", new TextEncoder().encode(JSON.stringify({ ...before, outbox: [{ id, event: { kind: "step", weight: 10 } }] })), entry.revision);
    await driver.tickAll();
    await expect.poll(() => seen.length).toBe(2);
    expect(seen.map((e) => e.id)).toEqual([id, id]);
    expect(routes.writes).toBe(1);
    await driver.stop();
  });
});
