import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseTopology, readTopology, TopologyError } from "./topology.js";
import { repoRoot } from "./repo-root.js";

describe("parseTopology()", () => {
  it("fills every default when the file is empty: registry 50051/8081 and one CPU replica on 8001/8000", () => {
    const topology = parseTopology("", "t.yaml");
    expect(topology.bindHost).toBe("127.0.0.1");
    expect(topology.natsUrl).toBeUndefined();
    expect(topology.registry).toMatchObject({ grpcPort: 50051, httpPort: 8081, dataDir: ".tessera/data", env: {} });
    expect(topology.replicas).toEqual([
      { id: "inference-0", device: "cpu", serve: [], grpcPort: 8001, httpPort: 8000, instanceCount: 1, frontendLoops: "auto", allowCpuFallback: false, env: {} },
    ]);
  });

  it("starts monitoring on 50053/8083 by default, and not at all when disabled", () => {
    expect(parseTopology("", "t.yaml").monitoring).toEqual({ enabled: true, grpcPort: 50053, httpPort: 8083, env: {} });
    expect(parseTopology("monitoring: {enabled: false}\n", "t.yaml").monitoring.enabled).toBe(false);
    // A disabled service claims no port.
    expect(() => parseTopology("monitoring: {enabled: false, grpc_port: 50051}\n", "t.yaml")).not.toThrow();
    expect(() => parseTopology("monitoring: {grpc_port: 50051}\n", "t.yaml")).toThrow("t.yaml: monitoring.grpc_port: port 50051 is already taken by registry.grpc_port");
    expect(() => parseTopology("monitoring: {colour: red}\n", "t.yaml")).toThrow("monitoring");
  });

  it("gives replica i the ports 8001+2i and 8000+2i unless it names its own", () => {
    const topology = parseTopology("inference:\n  - {}\n  - {}\n  - {grpc_port: 9001, http_port: 0}\n", "t.yaml");
    expect(topology.replicas.map((r) => [r.id, r.grpcPort, r.httpPort])).toEqual([
      ["inference-0", 8001, 8000],
      ["inference-1", 8003, 8002],
      ["inference-2", 9001, 0],
    ]);
  });

  it("reads serve as a list or one comma-separated string, normalising bare models to model@production", () => {
    const topology = parseTopology("inference:\n  - serve: [fraud@production, wide@3]\n  - serve: 'fraud, wide@staging'\n", "t.yaml");
    expect(topology.replicas[0]!.serve).toEqual(["fraud@production", "wide@3"]);
    expect(topology.replicas[1]!.serve).toEqual(["fraud@production", "wide@staging"]);
  });

  it("turns env values into strings", () => {
    const topology = parseTopology("registry:\n  env: {TESSERA_MAX_ARTIFACT_BYTES: 1024, FLAG: true}\n", "t.yaml");
    expect(topology.registry.env).toEqual({ TESSERA_MAX_ARTIFACT_BYTES: "1024", FLAG: "true" });
  });

  it.each([
    ["an unknown top-level key", "registy: {}\n", "t.yaml: registy: unknown key"],
    ["an unknown replica key", "inference:\n  - devcie: cpu\n", "t.yaml: inference[0].devcie: unknown key; known keys here: id, device,"],
    ["a device that is neither cpu nor cuda:N", "inference:\n  - device: gpu\n", 't.yaml: inference[0].device: "gpu" is not a device'],
    ["a port out of range", "registry:\n  grpc_port: 70000\n", "t.yaml: registry.grpc_port: expected a port number"],
    ["a port given as text", "registry:\n  http_port: eighty\n", 't.yaml: registry.http_port: expected a port number 1-65535 (or 0 for a free one), got "eighty"'],
    ["a bad serve entry", "inference:\n  - serve: [fraud, 'Bad Name']\n", "t.yaml: inference[0].serve[1]:"],
    ["a serve entry listed twice", "inference:\n  - serve: [fraud, fraud@production]\n", 't.yaml: inference[0].serve: "fraud@production" is listed twice'],
    ["inference that is not a list", "inference: {device: cpu}\n", "t.yaml: inference: expected a list of replicas"],
    ["two services on one port", "registry: {grpc_port: 8001}\n", "t.yaml: inference[0].grpc_port: port 8001 is already taken by registry.grpc_port"],
    ["two replicas with one id", "inference:\n  - id: a\n  - id: a\n", 't.yaml: inference[1].id: "a" is also the id of inference[0]'],
    ["an instance count of 0", "inference:\n  - instance_count: 0\n", "t.yaml: inference[0].instance_count: must be between 1 and 64, got 0"],
    ["a log level nobody knows", "log_level: loud\n", 't.yaml: log_level: expected one of debug, info, warn, error, got "loud"'],
    ["a bad environment variable name", "registry:\n  env: {'1X': a}\n", "t.yaml: registry.env.1X: not an environment variable name"],
    ["allow_cpu_fallback as text", "inference:\n  - allow_cpu_fallback: 'maybe'\n", "t.yaml: inference[0].allow_cpu_fallback: expected true or false"],
    ["YAML that does not parse", "registry: [\n", "t.yaml: not valid YAML (line"],
    ["a file that is a list", "- a\n", "t.yaml: expected a mapping"],
  ])("names the key when given %s", (_label, text, message) => {
    expect(() => parseTopology(text, "t.yaml")).toThrow(TopologyError);
    expect(() => parseTopology(text, "t.yaml")).toThrow(message);
  });

  it.each(["topology.yaml", "topology.gpu.example.yaml"])("reads the shipped mesh/%s", (file) => {
    const topology = parseTopology(readFileSync(join(repoRoot(), "mesh", file), "utf8"), file);
    expect(topology.replicas.length).toBeGreaterThan(0);
  });

  it("reads the default topology as a registry, the router on 8001/8000 and one replica behind it following fraud@production", () => {
    const topology = parseTopology(readFileSync(join(repoRoot(), "mesh", "topology.yaml"), "utf8"), "topology.yaml");
    expect(topology.registry.grpcPort).toBe(50051);
    expect(topology.router).toMatchObject({ grpcPort: 8001, httpPort: 8000 });
    expect(topology.replicas.map((r) => [r.id, r.device, r.serve, r.grpcPort, r.httpPort])).toEqual([["inference-0", "cpu", ["fraud@production"], 8101, 8100]]);
  });

  it("moves replicas to 8101+2i / 8100+2i when a router takes Triton's ports", () => {
    const topology = parseTopology("router: {}\ninference:\n  - {}\n  - {}\n", "t.yaml");
    expect(topology.router).toEqual({ grpcPort: 8001, httpPort: 8000, env: {} });
    expect(topology.replicas.map((r) => [r.grpcPort, r.httpPort])).toEqual([[8101, 8100], [8103, 8102]]);
    expect(() => parseTopology("router: {grpc_port: 50051}\n", "t.yaml")).toThrow("router.grpc_port: port 50051 is already taken by registry.grpc_port");
  });
});

describe("readTopology()", () => {
  it("checks plain data as parseTopology checks YAML", () => {
    expect(readTopology({ inference: [{ grpc_port: 0, http_port: 0 }] }, "demo").replicas[0]).toMatchObject({ grpcPort: 0, httpPort: 0 });
    expect(() => readTopology({ inference: [{ device: "tpu" }] }, "demo")).toThrow('demo: inference[0].device: "tpu" is not a device');
  });
});
