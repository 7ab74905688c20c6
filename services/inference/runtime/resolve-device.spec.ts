import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { silentLogger, type Logger } from "../../../libs/log/index.js";
import { resolveDevice } from "./resolve-device.js";

// GPU 99 exists on no machine this runs on, with or without a CUDA provider installed.
const missingGpu = { kind: "cuda", index: 99 } as const;

describe("resolveDevice()", () => {
  it("keeps the CPU as it is", async () => {
    expect(await resolveDevice({ kind: "cpu" }, { allowCpuFallback: false, logger: silentLogger })).toEqual({ kind: "cpu" });
  });

  it("stops start-up with one line naming the device and the way out when the GPU cannot be used", async () => {
    const error = await resolveDevice(missingGpu, { allowCpuFallback: false, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((error as ConnectError).rawMessage).toMatch(/^cuda:99 cannot be used: .+ Set TESSERA_DEVICE=cpu, or TESSERA_ALLOW_CPU_FALLBACK=true/);
    expect((error as ConnectError).rawMessage).not.toContain("\n");
  });

  it("falls back to the CPU with a warning when allowed", async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (message) => warnings.push(message), child: () => logger };
    expect(await resolveDevice(missingGpu, { allowCpuFallback: true, logger })).toEqual({ kind: "cpu" });
    expect(warnings).toHaveLength(1);
  });
});
