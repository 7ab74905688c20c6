import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import type { RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import { RouteSchema, WeightedVersionSchema, type Route, type RouterService } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import type { MeshClient } from "../../../libs/host/index.js";
import type { RouteControl, RouteSnapshot } from "./route-control.js";

type RouterClient = MeshClient<typeof RouterService>["client"];
type RegistryClient = MeshClient<typeof RegistryService>["client"];

const TIMEOUT_MS = 5_000;

/**
 * RouteControl over the router's RouterService (GetRoute, SetRoute with
 * compare-and-set on the revision) and the registry's SetAlias. Only the
 * splits change: sticky header, shadow and fallback are kept as they are.
 */
export class RouterRouteControl implements RouteControl {
  private readonly call: { timeoutMs: number; headers?: Record<string, string> };

  /** `apiKey`: sent as x-api-key, for a router that requires keys (it needs the SetRoute right for the model). */
  constructor(
    private readonly router: RouterClient,
    private readonly registry: RegistryClient,
    options: { apiKey?: string } = {},
  ) {
    this.call = { timeoutMs: TIMEOUT_MS, ...(options.apiKey ? { headers: { "x-api-key": options.apiKey } } : {}) };
  }

  async getRoute(model: string): Promise<RouteSnapshot | undefined> {
    const route = await this.fetch(model);
    return route && snapshot(route);
  }

  async setWeights(model: string, weights: Readonly<Record<number, number>>, expectedRevision: number): Promise<{ revision: number } | { conflict: RouteSnapshot }> {
    const route = await this.fetch(model);
    if (!route) return { conflict: { revision: 0, weights: {} } };
    if (Number(route.revision) !== expectedRevision) return { conflict: snapshot(route) };
    const splits = Object.entries(weights).map(([version, weight]) => create(WeightedVersionSchema, { version: Number(version), weight }));
    try {
      const { route: stored } = await this.router.setRoute(
        { route: create(RouteSchema, { ...route, splits, revision: 0n }), expectedRevision: BigInt(expectedRevision) },
        this.call,
      );
      return { revision: Number(stored?.revision ?? 0n) };
    } catch (error) {
      const e = ConnectError.from(error);
      if (e.code !== Code.Aborted && e.code !== Code.AlreadyExists) throw fromRouter(e, `set the route of "${model}"`);
      const now = await this.fetch(model);
      return { conflict: now ? snapshot(now) : { revision: 0, weights: {} } };
    }
  }

  async moveAlias(model: string, alias: string, version: number): Promise<void> {
    await this.registry.setAlias({ model, alias, version }, { timeoutMs: TIMEOUT_MS });
  }

  private async fetch(model: string): Promise<Route | undefined> {
    try {
      return (await this.router.getRoute({ model }, this.call)).route;
    } catch (error) {
      const e = ConnectError.from(error);
      if (e.code === Code.NotFound) return undefined;
      throw fromRouter(e, `read the route of "${model}"`);
    }
  }
}

function snapshot(route: Route): RouteSnapshot {
  const weights: Record<number, number> = {};
  for (const s of route.splits) weights[s.version] = s.weight;
  return { revision: Number(route.revision), weights };
}

/**
 * The router's failure as monitoring answers it: a connection failure keeps
 * its code but says it was the router's, since a client reads a relayed
 * "connection refused" as the monitoring service's own.
 */
function fromRouter(e: ConnectError, what: string): ConnectError {
  if (e.code !== Code.Unavailable && e.code !== Code.DeadlineExceeded) return e;
  return new ConnectError(`could not ${what}: the router did not answer (${Code[e.code]}); is it up at TESSERA_ROUTER_ADDRESS?`, e.code, undefined, undefined, e);
}
