import type { Logger } from "../../../libs/log/index.js";
import { FRONTEND_LOOP_HEADER } from "../../../libs/membership/index.js";
import type { RawResponse } from "./call-raw.js";
import { UpstreamError } from "./upstream-error.js";

/** How the pool opens and closes one connection (a node:http2 session, a grpc-js channel). */
export interface PoolTransport<C> {
  open(address: string): C;
  /** False once it closed, dropped or was told GOAWAY: the pool opens another in its place. */
  isOpen(connection: C): boolean;
  /** Closes it once its calls in flight are over. */
  close(connection: C): void;
}

/**
 * Connections that landed on a loop another connection already holds, per
 * loop, before the pool keeps what it has. With the kernel's hash as good as
 * random, 8 per loop leave a loop unreached about 1 time in 10,000 at 4
 * loops (3 per loop: 1 in 25), and a duplicate costs only a connect; the
 * whole search takes about N·(1 + 1/2 + ... + 1/N) connections (docs/router.md).
 */
export const DUPLICATES_PER_LOOP = 8;
/** Most connections kept to one replica, whatever its record says. */
export const MAX_LOOPS_FOLLOWED = 32;
/**
 * After giving up, the pool searches again this much later: a loop that was
 * down while the search ran (it died and is being replaced) may be back.
 */
export const SEARCH_AGAIN_AFTER_MS = 30_000;

interface Member<C> {
  readonly connection: C;
  /** The loop its answers came from (FRONTEND_LOOP_HEADER); undefined until one came, or with a replica that sends none. */
  loop: number | undefined;
  inFlight: number;
}

interface AddressPool<C> {
  loops: number;
  members: Member<C>[];
  /** Duplicates closed since the pool last had every loop, its loop count changed or it searched again. */
  duplicates: number;
  /** When the duplicate budget ran out: until SEARCH_AGAIN_AFTER_MS later, duplicates are kept. */
  gaveUpAtMs: number | undefined;
  /** Whether a give-up was logged as a warning (later ones are debug lines). */
  warned: boolean;
  /** Connections opened, in all (logs). */
  opened: number;
  /** Where the next tie-break starts: round-robin among the least busy. */
  cursor: number;
}

export interface LoopPoolOptions {
  /** Default SEARCH_AGAIN_AFTER_MS. */
  searchAgainAfterMs?: number;
  /** The clock, ms. Default Date.now (tests move their own). */
  now?: () => number;
}

/**
 * One connection per front-end loop of each replica address. The replica
 * says how many loops it runs (its record's frontend_loops) and, on every
 * answer, which loop answered; the kernel picks the loop a connection lands
 * on (SO_REUSEPORT), so a connection that lands on a loop already held is
 * closed and another opened, up to DUPLICATES_PER_LOOP per loop, after
 * which the pool keeps what it has (logged) and searches again
 * SEARCH_AGAIN_AFTER_MS later. Calls go to the connection with the fewest
 * calls in flight, ties in turn: a loop slowed by a large message gets
 * fewer, and light traffic still alternates. Connections are opened on
 * first use and when one closes (lazily, like one per address was), and
 * closed when the replica leaves membership.
 */
export class LoopPool<C> {
  private readonly pools = new Map<string, AddressPool<C>>();
  private readonly searchAgainAfterMs: number;
  private readonly now: () => number;

  constructor(
    private readonly transport: PoolTransport<C>,
    private readonly logger: Logger,
    options: LoopPoolOptions = {},
  ) {
    this.searchAgainAfterMs = options.searchAgainAfterMs ?? SEARCH_AGAIN_AFTER_MS;
    this.now = options.now ?? Date.now;
  }

  /** Runs `call` on one of the address's connections; learns the answering loop from its headers (or an error's metadata). */
  async call(address: string, loops: number, call: (connection: C) => Promise<RawResponse>): Promise<RawResponse> {
    const member = this.pick(address, loops);
    member.inFlight++;
    try {
      const response = await call(member.connection);
      this.learn(address, member, response.headers.get(FRONTEND_LOOP_HEADER)[0]);
      return response;
    } catch (error) {
      if (error instanceof UpstreamError) this.learn(address, member, error.metadata?.get(FRONTEND_LOOP_HEADER)[0]);
      throw error;
    } finally {
      member.inFlight--;
    }
  }

  /** The loops this pool's connections to `address` reached (undefined: not known yet), for tests and logs. */
  loopsOf(address: string): (number | undefined)[] {
    return (this.pools.get(address)?.members ?? []).filter((m) => this.transport.isOpen(m.connection)).map((m) => m.loop);
  }

  /** Closes the connections of addresses not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [address, pool] of this.pools) {
      if (!live.has(address)) {
        pool.members.forEach((m) => this.transport.close(m.connection));
        this.pools.delete(address);
      }
    }
  }

  closeAll(): void {
    this.retain(new Set());
  }

  private pick(address: string, asked: number): Member<C> {
    const loops = Math.min(Math.max(1, Math.floor(asked) || 1), MAX_LOOPS_FOLLOWED);
    let pool = this.pools.get(address);
    if (!pool) {
      pool = { loops, members: [], duplicates: 0, gaveUpAtMs: undefined, warned: false, opened: 0, cursor: 0 };
      this.pools.set(address, pool);
    }
    if (pool.loops !== loops) {
      // Restarted with another count: a fresh budget, and no more connections than loops.
      pool.loops = loops;
      this.searchAfresh(pool);
      pool.members.splice(loops).forEach((m) => this.transport.close(m.connection));
    } else if (pool.gaveUpAtMs !== undefined && this.now() - pool.gaveUpAtMs >= this.searchAgainAfterMs) {
      // Let go of each connection on a loop another holds: their places are searched for again.
      this.searchAfresh(pool);
      const held = new Set<number>();
      for (const member of [...pool.members]) {
        if (member.loop === undefined) continue;
        if (held.has(member.loop)) this.retire(pool, member);
        else held.add(member.loop);
      }
    }
    // Per call: a new array only when a connection has gone.
    if (pool.members.some((m) => !this.transport.isOpen(m.connection))) pool.members = pool.members.filter((m) => this.transport.isOpen(m.connection));
    while (pool.members.length < loops) {
      pool.members.push({ connection: this.transport.open(address), loop: undefined, inFlight: 0 });
      pool.opened++;
    }
    const { members } = pool;
    let best = members[pool.cursor % members.length]!;
    for (let i = 1; i < members.length; i++) {
      const member = members[(pool.cursor + i) % members.length]!;
      if (member.inFlight < best.inFlight) best = member;
    }
    pool.cursor = (members.indexOf(best) + 1) % members.length;
    return best;
  }

  private learn(address: string, member: Member<C>, header: string | Buffer | undefined): void {
    const pool = this.pools.get(address);
    const loop = typeof header === "string" && /^[0-9]{1,4}$/.test(header) ? Number(header) : undefined;
    if (!pool || loop === undefined || member.loop === loop || !pool.members.includes(member)) return;
    member.loop = loop;
    if (pool.members.some((m) => m !== member && m.loop === loop)) {
      if (pool.gaveUpAtMs !== undefined) return;
      if (pool.duplicates < DUPLICATES_PER_LOOP * pool.loops) {
        // Another in its place on the next call; this one's calls in flight finish first.
        pool.duplicates++;
        this.retire(pool, member);
        return;
      }
      pool.gaveUpAtMs = this.now();
      const fields = { address, loops: pool.loops, reached: reachedLoops(pool), opened: pool.opened, searchAgainInMs: this.searchAgainAfterMs };
      if (pool.warned) this.logger.debug("connections to a replica reached only some of its front-end loops again; keeping them", fields);
      else this.logger.warn("connections to a replica reached only some of its front-end loops; keeping them", fields);
      pool.warned = true;
      return;
    }
    // Every loop held: a loop lost later (it died and was replaced) gets a fresh budget.
    if (reachedLoops(pool) >= pool.loops) this.searchAfresh(pool);
  }

  private searchAfresh(pool: AddressPool<C>): void {
    pool.duplicates = 0;
    pool.gaveUpAtMs = undefined;
  }

  private retire(pool: AddressPool<C>, member: Member<C>): void {
    pool.members.splice(pool.members.indexOf(member), 1);
    this.transport.close(member.connection);
  }
}

function reachedLoops(pool: AddressPool<unknown>): number {
  return new Set(pool.members.map((m) => m.loop).filter((l) => l !== undefined)).size;
}
