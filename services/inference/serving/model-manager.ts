import { createReadStream } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, failedPrecondition, notFound, toConnectError, unavailable } from "../../../libs/errors/index.js";
import type { EventBus, Unsubscribe } from "../../../libs/events/index.js";
import {
  ModelLoadedSchema,
  ModelUnloadedSchema,
} from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";
import {
  AliasDeletedSchema,
  AliasMovedSchema,
  ModelVersionCreatedSchema,
} from "../../../libs/gen/tessera/events/v1/registry_events_pb.js";
import type { ServedModel } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { ModelVersion } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { Logger } from "../../../libs/log/index.js";
import { readSignatureFromStream } from "../../../libs/onnx/index.js";
import { resolveBatchingOptions, type BatchingOverrides } from "../batching/index.js";
import { formatDevice, type Device } from "../runtime/device.js";
import { ModelCache } from "../runtime/model-cache.js";
import { createModelRunner } from "../runtime/model-runner.js";
import type { SessionTuning } from "../runtime/session-options.js";
import type { PlacementSetting } from "../runtime/session-placement.js";
import { fetchVersion, lookUpAlias, type RegistryClient } from "./fetch-version.js";
import { ServedTable, type Selector, type Target } from "./served-table.js";
import { toServedModel, type ReadyVersion, type ServedVersion } from "./served-version.js";

/** Registry event subjects a replica follows (published by the registry service). */
export const registryEventSubjects = {
  aliasMoved: "tessera.registry.alias.moved",
  aliasDeleted: "tessera.registry.alias.deleted",
  versionCreated: "tessera.registry.model_version.created",
} as const;

/** Subjects a replica publishes on when it loads or unloads a version. */
export const inferenceEventSubjects = {
  modelLoaded: "tessera.inference.model.loaded",
  modelUnloaded: "tessera.inference.model.unloaded",
} as const;

/** The alias the registry keeps on the newest version; followed through version-created events. */
const LATEST = "latest";

export interface ModelManagerOptions {
  readonly registry: RegistryClient;
  readonly events: EventBus;
  /** The device resolveDevice() settled on. */
  readonly device: Device;
  readonly tuning: SessionTuning;
  readonly instanceCount: number;
  /** Where each version's sessions run; see ModelRunnerOptions.placement. Default "auto". */
  readonly placement?: PlacementSetting;
  /** This replica's own batching settings, over each version's registry config. */
  readonly batchingOverrides?: BatchingOverrides;
  readonly replicaId: string;
  readonly logger: Logger;
  /**
   * How often followed aliases are re-read from the registry, in case an
   * event was missed (NATS subscriptions do not replay) or the registry was
   * unreachable at start-up. Default 30 s; 0: never.
   */
  readonly resyncIntervalMs?: number;
  /**
   * Deadline for downloading one artifact. Default 10 minutes: a large model
   * over a slow link, while a stuck registry still costs a bounded wait.
   */
  readonly downloadTimeoutMs?: number;
  /** Where artifacts are written for the session threads to load. Default: a ModelCache in DEFAULT_MODEL_CACHE_DIR. */
  readonly modelCache?: ModelCache;
  /** How long unloading a version waits for its queued and running requests; see ModelRunnerOptions.drainGraceMs. */
  readonly drainGraceMs?: number;
  /** Called after every state change (load, switch, unload): readiness and membership follow it. */
  readonly onChange?: () => void;
  /** See ModelRunnerOptions.keepRequestInputs: true while prediction logs read the inputs. */
  readonly keepRequestInputs?: boolean;
}

/**
 * The model versions this replica serves. Loads a version from the registry
 * (metadata and artifact, sha256 checked), warms it up, and only then lets
 * requests reach it; follows aliases as the registry moves them, switching
 * atomically once the new version is READY and only then draining the old
 * one, so no request fails during the swap.
 */
export class ModelManager {
  private readonly table = new ServedTable<ServedVersion>();
  private readonly unsubscribes: Unsubscribe[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  /** The newest registry revision seen per followed model and alias. */
  private readonly seenRevisions = new Map<string, bigint>();
  private readonly aliasChecks = new Map<string, Promise<void>>();
  private closed = false;
  private readonly logger: Logger;
  private readonly downloadTimeoutMs: number;
  private readonly deviceName: string;
  private readonly cache: ModelCache;

  private constructor(private readonly options: ModelManagerOptions) {
    this.logger = options.logger;
    this.cache = options.modelCache ?? new ModelCache();
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? 10 * 60_000;
    this.deviceName = formatDevice(options.device);
  }

  /** Subscribes to registry events; serve() then adds what to serve. */
  static async start(options: ModelManagerOptions): Promise<ModelManager> {
    const manager = new ModelManager(options);
    const { events } = options;
    manager.unsubscribes.push(
      await events.subscribe(registryEventSubjects.aliasMoved, AliasMovedSchema, ({ message }) => manager.onAliasEvent(message.model, message.alias, message.revision)),
      await events.subscribe(registryEventSubjects.aliasDeleted, AliasDeletedSchema, ({ message }) => {
        if (!manager.table.isFollowing(message.model, message.alias)) return;
        manager.logger.warn("a followed alias was deleted in the registry; still serving its last version until told otherwise", {
          model: message.model,
          alias: message.alias,
          version: manager.table.aliasVersion(message.model, message.alias),
        });
      }),
      await events.subscribe(registryEventSubjects.versionCreated, ModelVersionCreatedSchema, ({ message }) => {
        const mv = message.modelVersion;
        if (mv) manager.onAliasEvent(mv.model, LATEST, message.revision);
      }),
    );
    const interval = options.resyncIntervalMs ?? 30_000;
    if (interval > 0) {
      manager.resyncTimer = setInterval(() => void manager.resync(), interval);
      manager.resyncTimer.unref();
    }
    return manager;
  }

  /**
   * Starts serving `model` by alias (followed from now on) or by version
   * number (pinned). Resolves with the version once it is READY; rejects
   * with why it could not load (the selector is then dropped unless `keep`,
   * as at start-up, where the registry may simply not be up yet).
   */
  async serve(model: string, selector: Selector, options: { keep?: boolean } = {}): Promise<ServedModel> {
    this.checkOpen();
    const added = this.table.addSelector(model, selector);
    this.changed();
    try {
      let version: number;
      if (selector.alias !== undefined) {
        const current = await lookUpAlias(this.options.registry, model, selector.alias, { timeoutMs: 10_000 });
        version = current.version;
        await this.moveAlias(model, selector.alias, version, true);
      } else {
        version = selector.version;
        await this.ensureLoaded(model, version);
      }
      const slot = this.table.getVersion(model, version);
      if (!slot || slot.state !== "READY") throw slot?.failure ?? unavailable(`${model}@${version} did not load; see the replica's log`);
      return this.describe(slot);
    } catch (error) {
      if (added && !options.keep) {
        this.table.removeSelector(model, selector);
        this.changed();
        await this.collect(model);
      }
      throw loadError(error);
    }
  }

  /** Stops serving a version (0: every version of the model). Resolves once released; returns the versions released. */
  async unload(model: string, version: number): Promise<number[]> {
    const held = [...this.table.allVersions()].filter((s) => s.model === model && (version === 0 || s.version === version));
    const dropped = this.table.removeSelectors(model, version);
    if (held.length === 0 && dropped.length === 0) {
      throw notFound(`${version === 0 ? `model "${model}"` : `version ${version} of model "${model}"`} is not served by this replica; ${this.table.describe()}`);
    }
    this.changed();
    const released = await this.collect(model);
    // A version only a (now dropped) pin or alias held is released by collect(); one still needed stays.
    return released;
  }

  /**
   * The READY version a request goes to; throws NOT_FOUND / UNAVAILABLE /
   * FAILED_PRECONDITION as ServedTable.resolve(). Synchronous, so a handler
   * that resolves and submits without awaiting in between cannot land on a
   * version that started draining.
   */
  resolve(target: Target): ReadyVersion {
    const slot = this.table.resolve(target);
    if (!slot.runner || !slot.signature) throw toConnectError(new Error(`${slot.model}@${slot.version} is READY without a runner`));
    return slot as ReadyVersion;
  }

  /** Every version held, with its state (ListServedModels, membership). */
  list(): ServedModel[] {
    return [...this.table.allVersions()].map((slot) => this.describe(slot));
  }

  /** Versions held, READY or not, for statistics and metrics. */
  versions(): readonly ServedVersion[] {
    return [...this.table.allVersions()];
  }

  /**
   * Every version this replica was told to serve is READY. True with nothing
   * to serve: such a replica waits for LoadModel, and the router only sends
   * a model's traffic to replicas whose membership record lists it.
   */
  isReady(): boolean {
    return this.table.allReady();
  }

  /** "it serves fraud@production (version 3), …", for messages. */
  describeServed(model?: string): string {
    return this.table.describe(model);
  }

  /** Stops following events and releases every version, letting in-flight requests finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.allSettled(this.unsubscribes.map((u) => u()));
    for (const model of this.table.modelNames()) this.table.removeSelectors(model, 0);
    await Promise.allSettled(this.table.modelNames().map((m) => this.collect(m)));
  }

  /**
   * A registry event says `alias` moved. Events from concurrent writers can
   * arrive out of order, so one older than what was seen is dropped; and the
   * payload is only a hint: the version comes from the registry itself (anyone
   * who can publish on NATS could otherwise move production). One re-read at
   * a time per alias, in event order.
   */
  private onAliasEvent(model: string, alias: string, revision: bigint): void {
    if (this.closed || !this.table.isFollowing(model, alias)) return;
    const key = `${model}\u0000${alias}`;
    const seen = this.seenRevisions.get(key) ?? 0n;
    if (revision !== 0n && revision <= seen) return; // 0: a registry that sends no revisions
    if (revision > seen) this.seenRevisions.set(key, revision);
    const check = (this.aliasChecks.get(key) ?? Promise.resolve())
      .then(async () => {
        const current = await lookUpAlias(this.options.registry, model, alias, { timeoutMs: 10_000 });
        this.onAliasMoved(model, alias, current.version);
      })
      .catch((error: unknown) => this.logger.warn("could not re-read a moved alias from the registry; the next resync will", { model, alias, error: loadError(error).rawMessage }));
    this.aliasChecks.set(key, check);
    void check.finally(() => {
      if (this.aliasChecks.get(key) === check) this.aliasChecks.delete(key);
    });
  }

  private onAliasMoved(model: string, alias: string, version: number): void {
    if (this.closed || !this.table.isFollowing(model, alias)) return;
    if (this.table.aliasVersion(model, alias) === version && this.table.pendingVersion(model, alias) === undefined) return;
    this.logger.info("alias moved; loading the new version", { model, alias, version, from: this.table.aliasVersion(model, alias) });
    // Not awaited: loading a large model must not hold up events for other models.
    void this.moveAlias(model, alias, version, false).catch((error: unknown) =>
      this.logger.error("could not switch alias; still serving the previous version", { model, alias, version, error }),
    );
  }

  /**
   * Loads `version` for `alias`, then points the alias at it and releases
   * what nothing leads to any more. If the load fails, the alias stays on
   * the version it had.
   */
  private async moveAlias(model: string, alias: string, version: number, throwOnFailure: boolean): Promise<void> {
    if (this.table.aliasVersion(model, alias) === version) {
      // Moved back before the load of another version finished: cancel that switch.
      this.table.setPending(model, alias, version);
      this.table.promote(model, alias, version);
    } else {
      this.table.setPending(model, alias, version);
      this.changed();
      await this.ensureLoaded(model, version);
      const previous = this.table.aliasVersion(model, alias);
      if (this.table.promote(model, alias, version)) {
        this.logger.info("alias switched", { model, alias, version, previous });
      } else {
        const slot = this.table.getVersion(model, version);
        if (slot?.state === "FAILED" && throwOnFailure) throw slot.failure ?? failedPrecondition(slot.error ?? `${model}@${version} failed to load`);
      }
    }
    this.changed();
    await this.collect(model);
  }

  /** Loads a version unless it is loading or READY; waits for it either way. A FAILED one is tried again. */
  private async ensureLoaded(model: string, version: number): Promise<void> {
    let slot = this.table.getVersion(model, version);
    if (slot?.unloading) {
      await slot.unloading;
      slot = this.table.getVersion(model, version);
    }
    if (slot?.loading) return slot.loading;
    if (slot?.state === "READY") return;
    const fresh: ServedVersion = { model, version, state: "LOADING" };
    this.table.putVersion(fresh);
    this.changed();
    fresh.loading = this.load(fresh).finally(() => {
      fresh.loading = undefined;
      this.changed();
      void this.collect(model);
    });
    return fresh.loading;
  }

  private async load(slot: ServedVersion): Promise<void> {
    const label = `${slot.model}@${slot.version}`;
    const started = performance.now();
    try {
      const { modelVersion, signature, path } = await this.fetchToCache(slot);
      slot.modelVersion = modelVersion;
      slot.signature = signature;
      const batching = resolveBatchingOptions(modelVersion.batching, this.options.batchingOverrides);
      const runner = await createModelRunner({
        model: path,
        signature,
        batching,
        device: this.options.device,
        tuning: this.options.tuning,
        instanceCount: this.options.instanceCount,
        placement: this.options.placement,
        label,
        logger: this.logger,
        drainGraceMs: this.options.drainGraceMs,
        keepRequestInputs: this.options.keepRequestInputs,
        onBroken: (error) => void this.onBroken(slot, error),
      });
      if (this.closed) {
        await runner.release();
        throw new ConnectError("the replica is shutting down", Code.Unavailable);
      }
      slot.runner = runner;
      slot.state = "READY";
      slot.error = undefined;
      slot.failure = undefined;
      slot.retryable = undefined;
      this.logger.info("model version ready", { model: slot.model, version: slot.version, device: this.deviceName, instances: runner.instanceCount, placement: runner.placement.placement, batching: batching.enabled, ms: Math.round(performance.now() - started) });
      void this.publishLoaded(slot);
    } catch (error) {
      const reason = loadError(error);
      slot.state = "FAILED";
      slot.error = reason.rawMessage;
      slot.failure = reason;
      slot.retryable = [Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted].includes(reason.code);
      this.logger.error("model version failed to load", { model: slot.model, version: slot.version, error: reason.rawMessage, code: Code[reason.code] });
    }
  }

  /**
   * Downloads a version's files into the cache, streaming them to disk: the
   * bytes never sit whole in this process; sessions load the file, one copy
   * of the weights each, and find its external data files beside it.
   */
  private async fetchToCache(slot: ServedVersion): Promise<{ modelVersion: ModelVersion; signature: Signature; path: string }> {
    const { modelVersion, path } = await fetchVersion(this.options.registry, this.cache, slot.model, slot.version, { timeoutMs: this.downloadTimeoutMs });
    // The registry reads the signature at upload; reading it here too covers a registry that did not.
    const signature = modelVersion.signature && modelVersion.signature.inputs.length > 0 ? modelVersion.signature : await readSignatureFromStream(createReadStream(path));
    return { modelVersion, signature, path };
  }

  /**
   * Every session of a READY version died and none could be replaced: the
   * version is FAILED (retryable, so requests get UNAVAILABLE) while it is
   * loaded again from scratch.
   */
  private async onBroken(slot: ServedVersion, error: ConnectError): Promise<void> {
    if (this.closed || slot.state !== "READY" || this.table.getVersion(slot.model, slot.version) !== slot) return;
    this.logger.error("model version lost its sessions; loading it again", { model: slot.model, version: slot.version, error: error.rawMessage });
    const runner = slot.runner;
    slot.runner = undefined;
    slot.state = "FAILED";
    slot.error = error.rawMessage;
    slot.failure = error;
    slot.retryable = true;
    this.changed();
    try {
      await runner?.release();
    } catch (releaseError) {
      this.logger.error("releasing a broken model version failed", { model: slot.model, version: slot.version, error: releaseError });
    }
    if (this.closed) return;
    await this.ensureLoaded(slot.model, slot.version);
  }

  /** Releases versions nothing leads to any more; returns their numbers. In-flight requests finish first. */
  private async collect(model: string): Promise<number[]> {
    const released: number[] = [];
    await Promise.all(
      this.table.unneeded(model).map(async (slot) => {
        if (slot.loading) return; // collected when its load ends
        if (slot.unloading) {
          await slot.unloading;
          released.push(slot.version);
          return;
        }
        if (slot.state !== "READY") {
          this.table.deleteVersion(model, slot.version);
          released.push(slot.version);
          return;
        }
        slot.state = "UNLOADING";
        this.changed();
        slot.unloading = (async () => {
          try {
            await slot.runner?.release();
          } catch (error) {
            this.logger.error("releasing a model version failed", { model, version: slot.version, error });
          }
          slot.runner = undefined;
          this.table.deleteVersion(model, slot.version);
          this.logger.info("model version unloaded", { model, version: slot.version });
          void this.publishUnloaded(model, slot.version);
          this.changed();
        })();
        await slot.unloading;
        released.push(slot.version);
      }),
    );
    return released.sort((a, b) => a - b);
  }

  /** Re-reads followed aliases and retries loads that failed for a passing reason. */
  private async resync(): Promise<void> {
    for (const { model, alias } of this.table.followedAliases()) {
      if (this.closed) return;
      try {
        const current = await lookUpAlias(this.options.registry, model, alias, { timeoutMs: 10_000 });
        const pending = this.table.pendingVersion(model, alias);
        const pendingSlot = pending === undefined ? undefined : this.table.getVersion(model, pending);
        const retry = pending === current.version && pendingSlot?.state === "FAILED" && pendingSlot.retryable === true;
        if ((this.table.aliasVersion(model, alias) !== current.version && pending !== current.version) || retry) {
          this.logger.info("resync: alias differs from what this replica serves", { model, alias, version: current.version });
          await this.moveAlias(model, alias, current.version, false);
        }
      } catch (error) {
        this.logger.warn("resync: cannot read alias from the registry", { model, alias, error: loadError(error).rawMessage });
      }
    }
    for (const slot of this.table.allVersions()) {
      if (slot.state === "FAILED" && slot.retryable && this.table.selectors(slot.model).some((s) => s.version === slot.version)) {
        void this.ensureLoaded(slot.model, slot.version);
      }
    }
  }

  private describe(slot: ServedVersion): ServedModel {
    return toServedModel(slot, this.table.aliasesOf(slot.model, slot.version), this.deviceName, this.options.instanceCount);
  }

  private changed(): void {
    try {
      this.options.onChange?.();
    } catch (error) {
      this.logger.warn("a state-change listener failed", { error });
    }
  }

  private async publishLoaded(slot: ServedVersion): Promise<void> {
    try {
      await this.options.events.publish(
        inferenceEventSubjects.modelLoaded,
        ModelLoadedSchema,
        create(ModelLoadedSchema, { replicaId: this.options.replicaId, model: this.describe(slot) }),
        { source: `tessera/inference/${this.options.replicaId}` },
      );
    } catch (error) {
      this.logger.warn("could not publish model.loaded", { error });
    }
  }

  private async publishUnloaded(model: string, version: number): Promise<void> {
    try {
      await this.options.events.publish(
        inferenceEventSubjects.modelUnloaded,
        ModelUnloadedSchema,
        create(ModelUnloadedSchema, { replicaId: this.options.replicaId, model, version }),
        { source: `tessera/inference/${this.options.replicaId}` },
      );
    } catch (error) {
      this.logger.warn("could not publish model.unloaded", { error });
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new ConnectError("the replica is shutting down; load the model on another replica", Code.Unavailable);
  }
}

function loadError(error: unknown): ConnectError {
  return ConnectError.from(error, Code.Internal);
}
