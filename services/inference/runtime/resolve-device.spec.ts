import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import { silentLogger, type Logger } from "../../../libs/log/index.js";
import { cudaReason, resolveDevice } from "./resolve-device.js";

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

describe("cudaReason()", () => {
  it("keeps only the CUDA failure of ONNX Runtime's multi-line error (as seen on an H100 asked for GPU 7)", () => {
    const seen =
      "/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_call.cc:154 std::conditional_t<THRW, void, onnxruntime::common::Status> onnxruntime::CudaCall(ERRTYPE, ...) " +
      "CUDA failure 101: invalid device ordinal ; GPU=0 ; hostname=vm ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_execution_provider.cc ; line=345 ; expr=cudaSetDevice(info_.device_id); \n\n";
    expect(cudaReason(new Error(seen))).toBe("CUDA failure 101: invalid device ordinal");
  });

  it("flattens any other message to one line", () => {
    expect(cudaReason(new Error("Failed to load\n  shared library"))).toBe("Failed to load shared library");
  });
});
