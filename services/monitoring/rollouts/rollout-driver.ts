import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import { alreadyExists, Code, ConnectError, failedPrecondition, invalidArgument, notFound } from "../../../libs/errors/index.js";
import type { EventBus } from "../../../libs/events/index.js";
import { RolloutPromotedSchema, RolloutRolledBackSchema, RolloutSteppedSchema } from "../../../libs/gen/tessera/events/v1/rollout_events_pb.js";
import type { StartRolloutRequest } from "../../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { Stage, type RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { MeshClient } from "../../../libs/host/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { KvStore } from "../../../libs/store/index.js";
import { initialRolloutState, RolloutController, type PersistIntent, type RolloutEvent, type RolloutState, type StepMetrics } from "./rollout-controller.js";
import type { RouteControl } from "./route-control.js";
import { rolloutSpecFrom } from "./rollout-wire.js";

export const ROLLOUT_STEPPED_SUBJECT = "tessera.monitoring.rollout.stepped";
export const ROLLOUT_PROMOTED_SUBJECT = "tessera.monitoring.rollout.promoted";
export const ROLLOUT_ROLLED_BACK_SUBJECT = "tessera.monitoring.rollout.rolled_back";

export interface RolloutDriverOptions {
  /** One key per model: its rollout's RolloutState as JSON, written with compare-and-set. */
  states: KvStore;
  /** A TTL bucket: key per model naming the process that drives its rollout. */
  leases: KvStore;
  routes: RouteControl;
  /** Asked whether the candidate exists and is not archived. */
  registry: MeshClient<typeof RegistryService>["client"];
  /** The candidate's requests, success rate and p99 since a time. */
  metrics(model: string, version: number, sinceMs: number): Omit<StepMetrics, "driftAlarm"> | undefined;
  driftAlarm(model: string, version: number): boolean;
  events: EventBus;
  logger: Logger;
  /** How often active rollouts are ticked, ms. */
  tickMs: number;
  now?: () => number;
}

/** A published kind of event, with the CloudEvent id every attempt to publish it uses. */
interface OutboxEvent {
  id: string;
  event: RolloutEvent;
}

/** The stored form: the rollout, and the events decided with it that are not yet published. */
type StoredRollout = RolloutState & { outbox?: OutboxEvent[] };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (state: StoredRollout) => encoder.encode(JSON.stringify(state));
const decode = (bytes: Uint8Array) => JSON.parse(decoder.decode(bytes)) as StoredRollout;
/** The rollout without its outbox, as the RPCs and the controller see it. */
const plain = ({ outbox: _outbox, ...state }: StoredRollout): RolloutState => state;
const published = (event: RolloutEvent) => event.kind === "step" || event.kind === "promoted" || event.kind === "rolled_back";

/**
 * Drives the rollouts stored in KV: every `tickMs` each progressing rollout
 * whose lease this process holds (or takes) gets one controller tick with
 * its candidate's metrics, and the new state is written back with
 * compare-and-set. A new process picks the rollouts up from KV once the
 * old one's lease is released or expires.
 */
export class RolloutDriver {
  private readonly controller: RolloutController;
  private readonly owner = randomUUID();
  private readonly held = new Map<string, number>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;

  constructor(private readonly options: RolloutDriverOptions) {
    this.controller = new RolloutController(options.routes);
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => void this.tickAll(), this.options.tickMs);
    this.timer.unref();
  }

  /** Stops ticking and hands back this process's leases, so another picks the rollouts up at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.ticking;
    await Promise.all([...this.chains.values()].map((c) => c.catch(() => undefined)));
    for (const [model, revision] of this.held) await this.options.leases.delete(model, revision).catch(() => undefined);
    this.held.clear();
  }

  /** Ticks every progressing rollout once (the timer does this every tickMs). */
  tickAll(): Promise<void> {
    return (this.ticking ??= (async () => {
      try {
        for (const model of await this.options.states.keys()) {
          // One rollout's failure (router or registry away) must not hold up the others.
          await this.serial(model, () => this.tickOne(model)).catch((error: unknown) => this.options.logger.warn("a rollout tick failed; trying again next tick", { model, error }));
        }
      } catch (error) {
        this.options.logger.warn("could not list rollouts", { error });
      } finally {
        this.ticking = undefined;
      }
    })());
  }

  async startRollout(request: StartRolloutRequest): Promise<RolloutState> {
    const { model, candidate } = request;
    if (model === "") throw invalidArgument("model is required");
    if (candidate === 0) throw invalidArgument("candidate is required: the version to roll out");
    await this.checkCandidate(model, candidate);
    const route = await this.options.routes.getRoute(model);
    if (!route) throw failedPrecondition(`model "${model}" has no route; set one first, e.g. \`tessera routes set ${model} <baseline>=100\``);
    const others = Object.entries(route.weights).filter(([v, w]) => Number(v) !== candidate && w > 0);
    if (others.length === 0) throw failedPrecondition(`the route of "${model}" already sends all traffic to version ${candidate}; nothing to roll out`);
    // The rollout's splits name the baseline and the candidate only: a third version's share would be dropped unasked.
    if (others.length > 1) {
      throw failedPrecondition(
        `the route of "${model}" splits traffic across versions ${others.map(([v]) => v).join(", ")}; a rollout moves traffic from one baseline to the candidate — set the route to one version first (\`tessera routes set ${model} <baseline>=100\`)`,
      );
    }
    const baseline = others[0]!;
    const spec = rolloutSpecFrom(request, Number(baseline[0]));
    return this.serial(model, async () => {
      const entry = await this.options.states.get(model);
      const state = initialRolloutState(spec, route, this.now());
      if (entry) {
        const old = decode(entry.value);
        if (old.phase === "progressing" || old.phase === "paused") {
          throw alreadyExists(`model "${model}" already has a ${old.phase} rollout of version ${old.spec.candidate}; abort it first (\`tessera rollout abort ${model}\`)`);
        }
        await this.options.states.update(model, encode(state), entry.revision);
      } else {
        await this.options.states.create(model, encode(state));
      }
      this.options.logger.info("rollout started", { model, baseline: spec.baseline, candidate, steps: spec.steps });
      // The first step's weight at once, if this process may drive it.
      return (await this.tickOne(model)) ?? state;
    });
  }

  async get(model: string): Promise<RolloutState> {
    const entry = await this.options.states.get(model);
    if (!entry) throw notFound(`no rollout for model "${model}"; start one with \`tessera rollout start ${model || "<model>"} <version>\``);
    return plain(decode(entry.value));
  }

  async list(): Promise<RolloutState[]> {
    const out: RolloutState[] = [];
    for (const model of await this.options.states.keys()) {
      const entry = await this.options.states.get(model);
      if (entry) out.push(plain(decode(entry.value)));
    }
    return out;
  }

  pause(model: string): Promise<RolloutState> {
    return this.change(model, async (state) => {
      if (state.phase !== "progressing" && state.phase !== "paused") throw failedPrecondition(`the rollout of "${model}" has ended (${state.phase}); nothing to pause`);
      return this.controller.pause(state);
    });
  }

  resume(model: string): Promise<RolloutState> {
    return this.change(model, async (state, intend) => {
      if (state.phase !== "paused" && state.phase !== "progressing") throw failedPrecondition(`the rollout of "${model}" has ended (${state.phase}); start a new one`);
      return this.controller.resume(state, this.now(), intend);
    });
  }

  abort(model: string): Promise<RolloutState> {
    return this.change(model, async (state, intend) => {
      if (state.phase !== "progressing" && state.phase !== "paused") throw failedPrecondition(`the rollout of "${model}" has ended (${state.phase}); nothing to abort`);
      const result = await this.controller.abort(state, intend);
      if (result.state.phase === "paused") throw failedPrecondition(`could not abort: ${result.state.reason}; resume it first or fix the route`);
      return result;
    });
  }

  private async change(model: string, apply: (state: RolloutState, intend: PersistIntent) => Promise<{ state: RolloutState; events: RolloutEvent[] }>): Promise<RolloutState> {
    return this.serial(model, async () => {
      const entry = await this.options.states.get(model);
      if (!entry) throw notFound(`no rollout for model "${model}"`);
      const stored = decode(entry.value);
      const revision = { value: entry.revision };
      const { state, events } = await apply(plain(stored), this.intend(model, revision, stored.outbox));
      return this.commit(model, revision.value, state, events, stored.outbox);
    });
  }

  /** One controller tick for the model's rollout if it is progressing and this process holds its lease. */
  private async tickOne(model: string): Promise<RolloutState | undefined> {
    const entry = await this.options.states.get(model);
    if (!entry) return undefined;
    let stored = decode(entry.value);
    let revision = entry.revision;
    const state = plain(stored);
    if (state.phase !== "progressing" && !stored.outbox?.length) return state;
    if (!(await this.lease(model))) return state;
    // Events a crash or an outage kept from going out: published first, with their ids.
    if (stored.outbox?.length) {
      revision = await this.flush(model, stored, revision);
      if (revision === 0) return undefined;
      stored = { ...stored, outbox: [] };
    }
    if (state.phase !== "progressing") return state;
    const { spec } = state;
    const now = this.now();
    const measured = state.step >= 0 ? this.options.metrics(spec.model, spec.candidate, state.stepStartedMs) : undefined;
    const metrics = measured && { ...measured, driftAlarm: this.options.driftAlarm(spec.model, spec.candidate) };
    const written = { value: revision };
    let result: { state: RolloutState; events: RolloutEvent[] };
    try {
      result = await this.controller.tick(state, now, metrics, this.intend(model, written, stored.outbox));
      if (result.state === state) return state;
      return await this.commit(model, written.value, result.state, result.events, stored.outbox);
    } catch (error) {
      // Paused or aborted through another process meanwhile: its write wins; look again next tick.
      if (ConnectError.from(error).code === Code.Aborted) return undefined;
      throw error;
    }
  }

  /** Stores a planned route write before the router is asked (compare-and-set), so a crash between them is recoverable. */
  private intend(model: string, revision: { value: number }, outbox: OutboxEvent[] | undefined): PersistIntent {
    return async (planned) => {
      revision.value = await this.options.states.update(model, encode({ ...planned, outbox }), revision.value);
    };
  }

  /**
   * Writes the new state with its events in the outbox, publishes them, and
   * empties the outbox: an event is published at least once (a crash before
   * the last write publishes it again next tick, with the same id), and
   * never before the state it reports is stored.
   */
  private async commit(model: string, revision: number, state: RolloutState, events: RolloutEvent[], earlier: OutboxEvent[] = []): Promise<RolloutState> {
    const outbox = [...earlier, ...events.filter(published).map((event) => ({ id: randomUUID(), event }))];
    const stored: StoredRollout = { ...state, outbox };
    const written = await this.options.states.update(model, encode(stored), revision);
    for (const event of events) this.options.logger.info(`rollout ${event.kind}`, { ...event, model: state.spec.model, candidate: state.spec.candidate });
    await this.flush(model, stored, written).catch((error: unknown) => this.options.logger.warn("could not publish rollout events; trying again next tick", { model, error }));
    return state;
  }

  /** Publishes the outbox and empties it; the new revision, or 0 when another write came first. */
  private async flush(model: string, stored: StoredRollout, revision: number): Promise<number> {
    const outbox = stored.outbox ?? [];
    if (outbox.length === 0) return revision;
    for (const { id, event } of outbox) await this.publish(stored, event, id);
    try {
      return await this.options.states.update(model, encode({ ...stored, outbox: [] }), revision);
    } catch (error) {
      if (ConnectError.from(error).code === Code.Aborted) return 0;
      throw error;
    }
  }

  /** Takes or renews the model's lease; false while another process holds it. */
  private async lease(model: string): Promise<boolean> {
    const { leases } = this.options;
    const value = encoder.encode(this.owner);
    try {
      const entry = await leases.get(model);
      if (!entry) {
        this.held.set(model, await leases.create(model, value));
        return true;
      }
      if (decoder.decode(entry.value) !== this.owner) return false;
      this.held.set(model, await leases.update(model, value, entry.revision));
      return true;
    } catch (error) {
      const code = ConnectError.from(error).code;
      if (code === Code.AlreadyExists || code === Code.Aborted) return false;
      throw error;
    }
  }

  /** Publishes one event; a failure throws, and the event stays in the outbox. */
  private async publish(state: RolloutState, event: RolloutEvent, id: string): Promise<void> {
    const { spec } = state;
    const base = { model: spec.model, baseline: spec.baseline, candidate: spec.candidate, time: timestampNow() };
    const options = { source: "tessera/monitoring", id };
    if (event.kind === "step") await this.options.events.publish(ROLLOUT_STEPPED_SUBJECT, RolloutSteppedSchema, create(RolloutSteppedSchema, { ...base, weight: event.weight }), options);
    else if (event.kind === "promoted") await this.options.events.publish(ROLLOUT_PROMOTED_SUBJECT, RolloutPromotedSchema, create(RolloutPromotedSchema, { ...base, alias: spec.alias }), options);
    else if (event.kind === "rolled_back") await this.options.events.publish(ROLLOUT_ROLLED_BACK_SUBJECT, RolloutRolledBackSchema, create(RolloutRolledBackSchema, { ...base, reason: event.reason }), options);
  }

  private async checkCandidate(model: string, candidate: number): Promise<void> {
    let stage: Stage | undefined;
    try {
      const { modelVersion } = await this.options.registry.getModelVersion({ version: { model, selector: { case: "version", value: candidate } } }, { timeoutMs: 5_000 });
      stage = modelVersion?.stage;
    } catch (error) {
      const e = ConnectError.from(error);
      if (e.code === Code.NotFound) throw failedPrecondition(`version ${candidate} of "${model}" is not in the registry (${e.rawMessage}); upload it first with \`tessera push\``);
      // Logged, not relayed: a client would read a relayed "connection refused" as monitoring's own.
      this.options.logger.warn("could not reach the registry to check a rollout's candidate", { model, candidate, error: e.rawMessage });
      throw new ConnectError(`could not check version ${candidate} of "${model}" with the registry (${Code[e.code]}); is the registry up? (monitoring's log has the detail)`, Code.Unavailable);
    }
    if (stage === Stage.ARCHIVED) throw failedPrecondition(`version ${candidate} of "${model}" is archived; move it to staging first (\`tessera stage ${model} ${candidate} staging\`)`);
  }

  /** Runs `fn` after every earlier operation on the same model in this process. */
  private serial<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(model) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.chains.set(model, next);
    void next.finally(() => {
      if (this.chains.get(model) === next) this.chains.delete(model);
    }).catch(() => undefined);
    return next;
  }
}
