import { Command, Option } from "commander";
import { Code } from "../../libs/errors/index.js";
import { RouterService, type Route } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import type { CliIo } from "./cli-io.js";
import { addConnectionOptions, authHeaders, resolveConnection } from "./connection-options.js";
import { formatRoutes, parseShadow, parseSplit } from "./format-routes.js";
import { parseVersionNumber } from "./parse-count.js";
import { callPeer, PeerError, type Peer } from "./peer-error.js";

type RouterClient = MeshClient<typeof RouterService>["client"];

interface SetOptions {
  sticky?: string;
  shadow?: { version: number; percent: number };
  fallback?: number;
  cache?: boolean;
}

/** `tessera routes ...`: the router's traffic splits (the router is the --inference address, the front door). */
export function routesCommand(io: CliIo): Command {
  const routes = new Command("routes").description("show and change the router's routes: weighted splits, sticky keys, shadow traffic, fallbacks");

  addConnectionOptions(routes, { inference: true }).action(async (_options: object, command: Command) => {
    await withRouter(command, io, async (client, peer, options) => {
      io.out(formatRoutes((await callPeer(peer, () => client.listRoutes({}, options))).routes) + "\n");
    });
  });

  addConnectionOptions(routes.command("get").description("show one model's route").argument("<model>"), { inference: true }).action(async (model: string, _options: object, command: Command) => {
    await withRouter(command, io, async (client, peer, options) => {
      const { route } = await callPeer(peer, () => client.getRoute({ model }, options));
      io.out(formatRoutes(route ? [route] : []) + "\n");
    });
  });

  addConnectionOptions(
    routes
      .command("set")
      .description("set a model's route: `tessera routes set fraud 1=90 2=10`; weights sum to 100; replaces the current route (compare-and-set on its revision)")
      .argument("<model>")
      .argument("<splits...>", "version=weight pairs")
      .option("--sticky <header>", "metadata header whose value keeps a caller on one version (default x-tessera-key)")
      .addOption(new Option("--shadow <version:percent>", "mirror this share of requests to a version, compared and never returned").argParser(parseShadow))
      .addOption(new Option("--fallback <version>", "version to use when no replica of the chosen one is healthy").argParser(parseVersionNumber))
      .option("--cache", "when everything failed, answer with the last good response for the same input"),
    { inference: true },
  ).action(async (model: string, splits: string[], options: SetOptions, command: Command) => {
    const parsed = splits.map(parseSplit);
    await withRouter(command, io, async (client, peer, callOptions) => {
      const current = await currentRoute(client, peer, model, callOptions);
      const route = {
        model,
        splits: parsed,
        stickyHeader: options.sticky ?? "",
        shadow: options.shadow,
        fallbackVersion: options.fallback ?? 0,
        serveCachedOnFailure: options.cache ?? false,
        defaultResponse: current?.defaultResponse,
      };
      const { route: stored } = await callPeer(peer, () => client.setRoute({ route, expectedRevision: current?.revision ?? 0n }, callOptions));
      io.out(formatRoutes(stored ? [stored] : []) + "\n");
    });
  });

  addConnectionOptions(routes.command("rm").alias("delete").description("delete a model's route (its traffic then goes to any replica serving it)").argument("<model>"), { inference: true }).action(
    async (model: string, _options: object, command: Command) => {
      await withRouter(command, io, async (client, peer, options) => {
        await callPeer(peer, () => client.deleteRoute({ model }, options));
        io.out(`route for ${model} deleted\n`);
      });
    },
  );
  return routes;
}

async function currentRoute(client: RouterClient, peer: Peer, model: string, options: CallOptions): Promise<Route | undefined> {
  try {
    return (await callPeer(peer, () => client.getRoute({ model }, options))).route;
  } catch (error) {
    if (error instanceof PeerError && error.status.code === Code.NotFound) return undefined;
    throw error;
  }
}

interface CallOptions {
  timeoutMs: number | undefined;
  headers: Record<string, string>;
}

async function withRouter(command: Command, io: CliIo, run: (client: RouterClient, peer: Peer, options: CallOptions) => Promise<void>): Promise<void> {
  const connection = resolveConnection(command, io);
  const peer: Peer = { service: "router", option: "--inference", address: connection.inference.address };
  const router = createMeshClient(RouterService, { address: peer.address, defaultTimeoutMs: connection.timeoutMs });
  try {
    await run(router.client, peer, { timeoutMs: connection.timeoutMs, headers: authHeaders(connection) });
  } finally {
    router.close();
  }
}
