/**
 * How many front-end event loops a replica runs (docs/inference.md,
 * "Sizing the front end"). Pure: the caller passes the cores, the device
 * and the Node version.
 */

/** Most loops the default picks: past four, one main thread feeding the batchers is the next bound. */
export const MAX_DEFAULT_LOOPS = 4;

/**
 * The default when TESSERA_FRONTEND_LOOPS is not set: one loop on a
 * machine of two cores or fewer (the load, the main thread and the
 * sessions already share them) and on a CPU device (ONNX Runtime's
 * intra-op threads take the cores there); on a GPU, a loop per core left
 * after the main thread's, up to MAX_DEFAULT_LOOPS.
 */
export function defaultFrontEndLoops(cores: number, deviceKind: "cpu" | "cuda"): number {
  if (cores <= 2 || deviceKind === "cpu") return 1;
  return Math.min(cores - 1, MAX_DEFAULT_LOOPS);
}

/**
 * Why this Node cannot run several loops on one port, or undefined when it
 * can: the loops share the port with SO_REUSEPORT (`reusePort` on
 * net.Server.listen, Node 22.12 and 23.1 on; older Nodes ignore it) on
 * Linux, where the kernel spreads connections over the sockets.
 */
export function loopsUnsupportedReason(nodeVersion: string, platform: string): string | undefined {
  const [major = 0, minor = 0] = nodeVersion.replace(/^v/, "").split(".").map(Number);
  const hasReusePort = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  if (!hasReusePort) return `Node ${nodeVersion} has no reusePort for listen() (Node >= 22.12 or >= 23.1 has)`;
  if (platform !== "linux") return `reusePort spreads connections over the loops only on Linux, not ${platform}`;
  return undefined;
}

/** The loops a replica runs: what was asked (or the default), or 1 with the reason when this Node cannot. */
export function chooseFrontEndLoops(
  asked: number | undefined,
  machine: { cores: number; deviceKind: "cpu" | "cuda"; nodeVersion: string; platform: string },
): { loops: number; fallbackReason?: string } {
  const wanted = asked ?? defaultFrontEndLoops(machine.cores, machine.deviceKind);
  if (wanted <= 1) return { loops: 1 };
  const reason = loopsUnsupportedReason(machine.nodeVersion, machine.platform);
  return reason ? { loops: 1, fallbackReason: reason } : { loops: wanted };
}
