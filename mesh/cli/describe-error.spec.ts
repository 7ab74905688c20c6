import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../../libs/errors/index.js";
import { TopologyError } from "../launcher/topology.js";
import { codeName, describeError, EXIT_FAILURE, EXIT_USAGE } from "./describe-error.js";
import { callPeer, PeerError, type Peer } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

const registry: Peer = { service: "registry", address: "127.0.0.1:50051", option: "--registry" };

function peerError(code: Code, message: string): PeerError {
  return new PeerError(registry, new ConnectError(message, code));
}

describe("describeError()", () => {
  it("answers exit 2 for command lines that cannot run", () => {
    expect(describeError(new UsageError("--input is not valid JSON"))).toEqual({ message: "--input is not valid JSON", exitCode: EXIT_USAGE });
    expect(describeError(new TopologyError("t.yaml", "registry.grpc_port", "bad")).exitCode).toBe(EXIT_USAGE);
  });

  it("says which server could not be reached, and how to point the CLI at another", () => {
    const described = describeError(peerError(Code.Unavailable, "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:50051. Resolution note:"));
    expect(described.exitCode).toBe(EXIT_FAILURE);
    expect(described.message).toBe(
      "cannot reach the registry at 127.0.0.1:50051 (connection refused): start the mesh with `tessera up`, or point --registry (or TESSERA_REGISTRY_ADDRESS) at a running one",
    );
  });

  it("words a missing model for CLI users", () => {
    const described = describeError(peerError(Code.NotFound, 'model "x" does not exist; create it first (CreateModel, or upload with header.create_model)'));
    expect(described).toEqual({
      message: 'model "x" not found in the registry at 127.0.0.1:50051; `tessera models ls` lists its models, `tessera models push` adds one',
      exitCode: EXIT_FAILURE,
    });
  });

  it("keeps other server messages, with the code in words", () => {
    expect(describeError(peerError(Code.NotFound, 'model "fraud" has no alias "staging"')).message).toBe('model "fraud" has no alias "staging" (not found)');
    expect(describeError(peerError(Code.InvalidArgument, "bad tensor")).message).toBe("bad tensor (invalid argument)");
    expect(describeError(peerError(Code.Unavailable, "fraud v2 is still loading")).message).toBe("fraud v2 is still loading (unavailable)");
  });

  it("suggests a longer --timeout when a call runs out of time", () => {
    expect(describeError(peerError(Code.DeadlineExceeded, "deadline exceeded")).message).toContain("give it longer with --timeout <ms>");
  });

  it("suggests a wrong port when the server does not know the call", () => {
    expect(describeError(peerError(Code.Unimplemented, "unknown service")).message).toContain("is --registry the registry's gRPC port?");
  });
});

describe("callPeer()", () => {
  it("tags a failed call with the peer and its status code", async () => {
    const error = await callPeer(registry, () => Promise.reject(new ConnectError("gone", Code.NotFound))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PeerError);
    expect((error as PeerError).status.code).toBe(Code.NotFound);
    expect((error as PeerError).peer).toBe(registry);
  });
});

describe("codeName()", () => {
  it("writes gRPC codes as words", () => {
    expect(codeName(Code.FailedPrecondition)).toBe("failed precondition");
  });
});
