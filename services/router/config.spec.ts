import { describe, expect, it } from "vitest";
import { readRouterConfig } from "./config.js";

describe("readRouterConfig() and the mesh", () => {
  it("watches the mesh's routes and replicas buckets, the ones its replicas heartbeat into", () => {
    expect(readRouterConfig({ TESSERA_ROUTER_AUTH: "off" })).toMatchObject({ mesh: "tessera", routesBucket: "tessera_routes", replicasBucket: "tessera_replicas" });
    expect(readRouterConfig({ TESSERA_ROUTER_AUTH: "off", TESSERA_MESH: "blue" })).toMatchObject({ mesh: "blue", routesBucket: "blue_routes", replicasBucket: "blue_replicas" });
  });

  it("reads the bucket variables as logical names: tessera_… is namespaced, anything else (the old <mesh>_routes workaround) kept", () => {
    const config = readRouterConfig({ TESSERA_ROUTER_AUTH: "off", TESSERA_MESH: "blue", TESSERA_ROUTES_BUCKET: "tessera_r2", TESSERA_REPLICAS_BUCKET: "blue_replicas" });
    expect([config.routesBucket, config.replicasBucket]).toEqual(["blue_r2", "blue_replicas"]);
  });

  it("refuses a bad mesh name, naming TESSERA_MESH", () => {
    expect(() => readRouterConfig({ TESSERA_ROUTER_AUTH: "off", TESSERA_MESH: "Blue" })).toThrow(/TESSERA_MESH/);
  });
});
