import { failedPrecondition, invalidArgument, notFound, unavailable } from "../../../libs/errors/index.js";

export type VersionState = "LOADING" | "READY" | "FAILED" | "UNLOADING";

/** What the table needs to know of a loaded (or loading) version. */
export interface VersionSlot {
  readonly model: string;
  readonly version: number;
  state: VersionState;
  /** Why loading failed, when FAILED. */
  error?: string;
  /** FAILED for a passing reason (registry unreachable, sessions lost): the replica tries again. */
  retryable?: boolean;
}

/** How a replica was told to serve a model: follow an alias, or pin a version. */
export type Selector = { readonly alias: string; readonly version?: undefined } | { readonly version: number; readonly alias?: undefined };

/** Which version a request asks for: a number, an alias, or neither (the model's default). */
export interface Target {
  readonly model: string;
  /** 0 or undefined: not by number. */
  readonly version?: number;
  /** "" or undefined: not by alias. */
  readonly alias?: string;
}

interface ModelEntry<V> {
  /** In the order given; the first is the model's default. */
  readonly selectors: Selector[];
  /** Alias → the version requests for it go to now (always a READY one when set). */
  readonly aliases: Map<string, number>;
  /** Alias → the version being loaded to replace it; switched once READY. */
  readonly pending: Map<string, number>;
  readonly versions: Map<number, V>;
}

/**
 * The replica's routing table: which versions it holds, which aliases it
 * follows and where each points now. Pure bookkeeping, no I/O: the
 * ModelManager loads and releases, and tells the table. Every change is
 * synchronous, so a request resolved through it sees either the old or the
 * new state of an alias move, never a mix.
 */
export class ServedTable<V extends VersionSlot> {
  private readonly models = new Map<string, ModelEntry<V>>();

  /** Adds a selector (a second identical one is a no-op). Returns whether it is new. */
  addSelector(model: string, selector: Selector): boolean {
    const entry = this.entry(model);
    if (entry.selectors.some((s) => sameSelector(s, selector))) return false;
    entry.selectors.push(selector);
    return true;
  }

  selectors(model: string): readonly Selector[] {
    return this.models.get(model)?.selectors ?? [];
  }

  /** Every (model, alias) the replica follows. */
  followedAliases(): { model: string; alias: string }[] {
    const out: { model: string; alias: string }[] = [];
    for (const [model, entry] of this.models) {
      for (const s of entry.selectors) if (s.alias !== undefined) out.push({ model, alias: s.alias });
    }
    return out;
  }

  isFollowing(model: string, alias: string): boolean {
    return this.models.get(model)?.selectors.some((s) => s.alias === alias) ?? false;
  }

  /**
   * Stops serving `version` of `model` (0: every version): drops the pins and
   * followed aliases that lead to it. Returns the selectors dropped. What is
   * then unneeded() is for the manager to release.
   */
  removeSelectors(model: string, version: number): Selector[] {
    const entry = this.models.get(model);
    if (!entry) return [];
    const leadsThere = (s: Selector) =>
      version === 0 ||
      s.version === version ||
      (s.alias !== undefined && (entry.aliases.get(s.alias) === version || entry.pending.get(s.alias) === version));
    const dropped = entry.selectors.filter(leadsThere);
    for (const s of dropped) {
      entry.selectors.splice(entry.selectors.indexOf(s), 1);
      if (s.alias !== undefined) {
        entry.aliases.delete(s.alias);
        entry.pending.delete(s.alias);
      }
    }
    return dropped;
  }

  /** Drops exactly this selector (and, for an alias, where it points). Returns whether it was there. */
  removeSelector(model: string, selector: Selector): boolean {
    const entry = this.models.get(model);
    if (!entry) return false;
    const i = entry.selectors.findIndex((s) => sameSelector(s, selector));
    if (i < 0) return false;
    entry.selectors.splice(i, 1);
    if (selector.alias !== undefined) {
      entry.aliases.delete(selector.alias);
      entry.pending.delete(selector.alias);
    }
    if (entry.versions.size === 0 && entry.selectors.length === 0) this.models.delete(model);
    return true;
  }

  putVersion(slot: V): void {
    this.entry(slot.model).versions.set(slot.version, slot);
  }

  getVersion(model: string, version: number): V | undefined {
    return this.models.get(model)?.versions.get(version);
  }

  /** Forgets a version (after it was released); a model left with nothing is forgotten too. */
  deleteVersion(model: string, version: number): void {
    const entry = this.models.get(model);
    if (!entry) return;
    entry.versions.delete(version);
    if (entry.versions.size === 0 && entry.selectors.length === 0) this.models.delete(model);
  }

  /** Every version held, model by model. */
  *allVersions(): IterableIterator<V> {
    for (const entry of this.models.values()) yield* entry.versions.values();
  }

  /** Marks `version` as the one being loaded for `alias`. */
  setPending(model: string, alias: string, version: number): void {
    this.entry(model).pending.set(alias, version);
  }

  pendingVersion(model: string, alias: string): number | undefined {
    return this.models.get(model)?.pending.get(alias);
  }

  aliasVersion(model: string, alias: string): number | undefined {
    return this.models.get(model)?.aliases.get(alias);
  }

  /**
   * Points `alias` at `version` if that is still the version pending for it
   * (a later move may have superseded it) and the version is READY. Returns
   * whether it switched.
   */
  promote(model: string, alias: string, version: number): boolean {
    const entry = this.models.get(model);
    if (!entry || entry.pending.get(alias) !== version) return false;
    if (entry.versions.get(version)?.state !== "READY") return false;
    entry.aliases.set(alias, version);
    entry.pending.delete(alias);
    return true;
  }

  /** Aliases that resolve to this version now. */
  aliasesOf(model: string, version: number): string[] {
    const entry = this.models.get(model);
    if (!entry) return [];
    return [...entry.aliases].filter(([, v]) => v === version).map(([alias]) => alias);
  }

  /** Versions of `model` that no pin, alias or pending move leads to any more. */
  unneeded(model: string): V[] {
    const entry = this.models.get(model);
    if (!entry) return [];
    const needed = new Set<number>();
    for (const s of entry.selectors) if (s.version !== undefined) needed.add(s.version);
    for (const v of entry.aliases.values()) needed.add(v);
    for (const v of entry.pending.values()) needed.add(v);
    return [...entry.versions.values()].filter((slot) => !needed.has(slot.version));
  }

  /** Models with anything in the table. */
  modelNames(): string[] {
    return [...this.models.keys()];
  }

  /** True when every selector of every model leads to a READY version. */
  allReady(): boolean {
    for (const entry of this.models.values()) {
      for (const s of entry.selectors) {
        const version = s.version ?? entry.aliases.get(s.alias);
        if (version === undefined || entry.versions.get(version)?.state !== "READY") return false;
      }
    }
    return true;
  }

  /**
   * The version a request goes to. NOT_FOUND (listing what this replica
   * serves) for a model, version or alias it does not hold; UNAVAILABLE
   * while the version is loading or being unloaded, or failed to load for a
   * passing reason; FAILED_PRECONDITION when it failed to load for good; INVALID_ARGUMENT when version and alias disagree.
   */
  resolve(target: Target): V {
    const entry = this.models.get(target.model);
    if (!entry) {
      throw notFound(`model "${target.model}" is not served by this replica; ${this.describe()}`);
    }
    const alias = target.alias ?? "";
    const byNumber = target.version ?? 0;
    let version: number;
    let asked: string;
    if (alias !== "") {
      asked = `${target.model}@${alias}`;
      const current = entry.aliases.get(alias);
      if (current === undefined) {
        const pending = entry.pending.get(alias);
        if (pending !== undefined) throw unavailable(`${asked} is still loading (version ${pending}); retry shortly`);
        throw notFound(`alias "${alias}" of model "${target.model}" is not served by this replica; ${this.describe(target.model)}`);
      }
      if (byNumber !== 0 && byNumber !== current) {
        throw invalidArgument(`${asked} is version ${current} on this replica, but the request also names version ${byNumber}; send one or the other`);
      }
      version = current;
    } else if (byNumber !== 0) {
      asked = `${target.model}@${byNumber}`;
      version = byNumber;
    } else {
      const first = entry.selectors[0];
      if (!first) throw notFound(`model "${target.model}" has no default version on this replica; name a version: ${this.describe(target.model)}`);
      return this.resolve(first.alias !== undefined ? { model: target.model, alias: first.alias } : { model: target.model, version: first.version });
    }
    const slot = entry.versions.get(version);
    if (!slot) {
      throw notFound(`version ${version} of model "${target.model}" is not served by this replica; ${this.describe(target.model)}`);
    }
    switch (slot.state) {
      case "READY":
        return slot;
      case "LOADING":
        throw unavailable(`${asked} is still loading; retry shortly`);
      case "FAILED":
        // A passing failure is retried here, so another replica (or a later retry) can answer: UNAVAILABLE, not a permanent error.
        if (slot.retryable) throw unavailable(`${asked} failed to load on this replica for now (${slot.error ?? "unknown error"}); it is being retried — retry the request`);
        throw failedPrecondition(`${asked} failed to load on this replica (${slot.error ?? "unknown error"}); load another version or fix the model`);
      case "UNLOADING":
        throw unavailable(`${asked} is being unloaded from this replica; retry to reach the version that replaces it`);
    }
  }

  /** "it serves fraud@production (version 3), wide@3" — for NOT_FOUND messages. */
  describe(onlyModel?: string): string {
    const parts: string[] = [];
    for (const [model, entry] of this.models) {
      if (onlyModel !== undefined && model !== onlyModel) continue;
      for (const s of entry.selectors) {
        if (s.alias !== undefined) {
          const v = entry.aliases.get(s.alias);
          const pending = entry.pending.get(s.alias);
          parts.push(v !== undefined ? `${model}@${s.alias} (version ${v})` : `${model}@${s.alias} (loading version ${pending ?? "?"})`);
        } else {
          parts.push(`${model}@${s.version}`);
        }
      }
    }
    if (parts.length === 0) return onlyModel === undefined ? "it serves no models yet" : `it serves no version of "${onlyModel}"`;
    return `it serves ${parts.join(", ")}`;
  }

  private entry(model: string): ModelEntry<V> {
    let entry = this.models.get(model);
    if (!entry) {
      entry = { selectors: [], aliases: new Map(), pending: new Map(), versions: new Map() };
      this.models.set(model, entry);
    }
    return entry;
  }
}

function sameSelector(a: Selector, b: Selector): boolean {
  return a.alias !== undefined ? a.alias === b.alias : a.version === b.version;
}
