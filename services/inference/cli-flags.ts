import { parseArgs } from "node:util";
import type { Env } from "../../libs/config/index.js";

/**
 * `main.js --device cuda:0 --allow-cpu-fallback --serve fraud@production`:
 * flags are the environment keys under another name, so the one config
 * reader validates both. A flag wins over the variable.
 */
export function envWithFlags(argv: readonly string[], env: Env): Env {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      device: { type: "string" },
      "allow-cpu-fallback": { type: "boolean" },
      serve: { type: "string" },
      "instance-count": { type: "string" },
      "frontend-loops": { type: "string" },
      "session-placement": { type: "string" },
      "grpc-port": { type: "string" },
      "http-port": { type: "string" },
      registry: { type: "string" },
    },
    strict: true,
  });
  const merged: Env = { ...env };
  if (values.device !== undefined) merged.TESSERA_DEVICE = values.device;
  if (values["allow-cpu-fallback"]) merged.TESSERA_ALLOW_CPU_FALLBACK = "true";
  if (values.serve !== undefined) merged.TESSERA_SERVE = values.serve;
  if (values["instance-count"] !== undefined) merged.TESSERA_INSTANCE_COUNT = values["instance-count"];
  if (values["frontend-loops"] !== undefined) merged.TESSERA_FRONTEND_LOOPS = values["frontend-loops"];
  if (values["session-placement"] !== undefined) merged.TESSERA_SESSION_PLACEMENT = values["session-placement"];
  if (values["grpc-port"] !== undefined) merged.TESSERA_INFERENCE_GRPC_PORT = values["grpc-port"];
  if (values["http-port"] !== undefined) merged.TESSERA_INFERENCE_HTTP_PORT = values["http-port"];
  if (values.registry !== undefined) merged.TESSERA_REGISTRY_ADDRESS = values.registry;
  return merged;
}
