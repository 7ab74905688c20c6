import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { failedPrecondition } from "../../../libs/errors/index.js";
import type { Logger } from "../../../libs/log/index.js";
import { buildMlp } from "../../../libs/onnx/index.js";
import { formatDevice, type Device } from "./device.js";

export interface ResolveDeviceOptions {
  /** Run on the CPU, with a warning, when the asked-for GPU cannot be used. */
  allowCpuFallback: boolean;
  logger: Logger;
}

/**
 * The device a replica will really use. "cpu" is always there. For cuda:N,
 * ONNX Runtime must load its CUDA provider and open GPU N: checked once, at
 * start-up, by creating a one-weight session on that GPU, so a replica never
 * reports READY on a device it cannot use. Without allowCpuFallback a missing
 * GPU stops start-up with one line saying why and what to change.
 */
export async function resolveDevice(device: Device, options: ResolveDeviceOptions): Promise<Device> {
  if (device.kind === "cpu") return device;
  const problem = await cudaProblem(device.index);
  if (problem === undefined) {
    options.logger.info("using GPU", { device: formatDevice(device) });
    return device;
  }
  if (options.allowCpuFallback) {
    options.logger.warn("GPU unavailable, running on the CPU as TESSERA_ALLOW_CPU_FALLBACK allows", { device: formatDevice(device), reason: problem });
    return { kind: "cpu" };
  }
  throw failedPrecondition(
    `${formatDevice(device)} cannot be used: ${problem}. Set TESSERA_DEVICE=cpu, or TESSERA_ALLOW_CPU_FALLBACK=true to run on the CPU when no GPU is usable`,
  );
}

/** Why CUDA device `index` cannot be used, or undefined when it can. */
async function cudaProblem(index: number): Promise<string | undefined> {
  if (!ort.listSupportedBackends().some((b) => b.name === "cuda")) {
    return `this onnxruntime-node build (${process.platform}-${process.arch}) has no CUDA provider`;
  }
  // Checked before asking ONNX Runtime, whose own failure is a multi-line
  // log that does not say where the file should go.
  const libraryDir = ortLibraryDir();
  const missing = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"].filter((f) => !existsSync(join(libraryDir, f)));
  if (missing.length > 0) {
    return `ONNX Runtime's CUDA provider is not installed (${missing.join(", ")} missing from ${libraryDir}; they must match onnxruntime-node ${ort.env.versions.node ?? ""} and the CUDA libraries must be on LD_LIBRARY_PATH)`;
  }
  try {
    // CUDA alone, no CPU provider: creation fails if the provider cannot load
    // or the GPU cannot be opened, instead of quietly running on the CPU.
    const session = await ort.InferenceSession.create(buildMlp({ name: "device-probe", layers: [1, 1], seed: 1 }), {
      executionProviders: [{ name: "cuda", deviceId: index }],
    });
    const x = new ort.Tensor("float32", new Float32Array([1]), [1, 1]);
    await session.run({ x });
    await session.release();
    return undefined;
  } catch (error) {
    return `ONNX Runtime could not run on GPU ${index} (${cudaReason(error)})`;
  }
}

/**
 * ONNX Runtime's CUDA errors span lines and quote its own source; start-up
 * wants one line, so keep the CUDA failure itself ("CUDA failure 101:
 * invalid device ordinal") when there is one, the whole message flattened otherwise.
 * @internal exported for its spec
 */
export function cudaReason(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();
  const cuda = /CUDA failure \d+: [^;]+/.exec(message);
  return cuda ? cuda[0].trim() : message;
}

/** Where onnxruntime-node's native libraries are, and so where it looks for provider libraries. */
function ortLibraryDir(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve("onnxruntime-node"); // …/onnxruntime-node/dist/index.js
  return join(dirname(entry), "..", "bin", "napi-v6", process.platform, process.arch);
}
