import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError, failedPrecondition, invalidArgument, notFound } from "../../../libs/errors/index.js";
import type { RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import { RouteSchema, type RouterService } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import type { MeshClient } from "../../../libs/host/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { RouteStore } from "../routes/route-store.js";
import { routeProblems, routeVersions } from "../routes/validate-route.js";

export interface RouterServiceOptions {
  routes: RouteStore;
  /** Asked whether the versions a route names exist. */
  registry: MeshClient<typeof RegistryService>["client"];
  logger: Logger;
}

/** tessera.router.v1.RouterService: routes, validated, stored in KV with compare-and-set. */
export function routerServiceImpl(options: RouterServiceOptions): ServiceImpl<typeof RouterService> {
  const { routes } = options;
  return {
    async setRoute(request) {
      const route = request.route;
      if (!route) throw invalidArgument("route is required");
      const problems = routeProblems(route);
      if (problems.length > 0) throw invalidArgument(`route for "${route.model}" is invalid: ${problems.join("; ")}`);
      await checkVersionsExist(options.registry, route.model, routeVersions(route));
      const revision = Number(request.expectedRevision);
      if (!Number.isSafeInteger(revision)) throw invalidArgument(`expected_revision ${request.expectedRevision} is out of range`);
      const stored = await routes.set(create(RouteSchema, route), revision);
      options.logger.info("route set", { model: route.model, revision: Number(stored.revision) });
      return { route: stored };
    },
    getRoute(request) {
      const route = routes.get(request.model);
      if (!route) throw notFound(`no route for model "${request.model}": set one with \`tessera routes set ${request.model || "<model>"} <version>=<weight> ...\``);
      return { route };
    },
    listRoutes() {
      return { routes: routes.list() };
    },
    async deleteRoute(request) {
      if (!routes.get(request.model)) throw notFound(`no route for model "${request.model}"`);
      await routes.delete(request.model, Number(request.expectedRevision));
      return {};
    },
  };
}

async function checkVersionsExist(registry: RouterServiceOptions["registry"], model: string, versions: number[]): Promise<void> {
  for (const version of versions) {
    try {
      await registry.getModelVersion({ version: { model, selector: { case: "version", value: version } } }, { timeoutMs: 5_000 });
    } catch (error) {
      const e = ConnectError.from(error);
      if (e.code === Code.NotFound) throw failedPrecondition(`the route names version ${version} of "${model}", which the registry does not have (${e.rawMessage})`);
      throw new ConnectError(`could not check version ${version} of "${model}" with the registry: ${e.rawMessage}`, Code.Unavailable);
    }
  }
}
