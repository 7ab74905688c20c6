import { availableParallelism } from "node:os";
import { DEFAULT_MAX_MESSAGE_BYTES, type ServiceRegistration } from "../../../libs/host/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { InferenceConfig } from "../config.js";
import type { Device } from "../runtime/device.js";
import { FrontEndLoops } from "./front-end-loops.js";
import { chooseFrontEndLoops } from "./loop-count.js";

/**
 * The replica's gRPC front end on several loops when the config (or the
 * machine's default) says so and this Node can; undefined for one loop,
 * which is the host's own gRPC server, exactly as without this module.
 */
export async function startLoopsIfAsked(options: {
  config: InferenceConfig;
  device: Device;
  services: readonly ServiceRegistration[];
  logger: Logger;
}): Promise<FrontEndLoops | undefined> {
  const { config, logger } = options;
  const { loops, fallbackReason } = chooseFrontEndLoops(config.frontendLoops, {
    cores: availableParallelism(),
    deviceKind: options.device.kind,
    nodeVersion: process.version,
    platform: process.platform,
  });
  if (fallbackReason) logger.warn("serving the gRPC port on one event loop, not the several asked for", { asked: config.frontendLoops ?? "auto", reason: fallbackReason });
  if (loops <= 1) return undefined;
  return FrontEndLoops.start({
    count: loops,
    host: config.bindHost,
    port: config.grpcPort,
    services: options.services,
    maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
    meshToken: config.meshToken,
    logger,
    logLevel: config.logLevel,
    replicaId: config.replicaId,
  });
}
