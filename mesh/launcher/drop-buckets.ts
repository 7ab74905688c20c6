import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "../../libs/nats/index.js";

/**
 * Deletes JetStream KV buckets and Object Stores (their streams, KV_<name>
 * and OBJ_<name>) and durable consumers that a short-lived mesh made for itself. Missing ones
 * are skipped; this is clean-up, so it never throws.
 */
export async function dropBuckets(
  natsUrl: string,
  buckets: { kv?: readonly string[]; objects?: readonly string[]; consumers?: readonly { stream: string; name: string }[] },
): Promise<void> {
  const nc = await connectNats({ servers: natsUrl, name: "tessera-cleanup" }).catch(() => undefined);
  if (!nc) return;
  try {
    const jsm = await jetstreamManager(nc);
    const streams = [...(buckets.kv ?? []).map((b) => `KV_${b}`), ...(buckets.objects ?? []).map((b) => `OBJ_${b}`)];
    await Promise.all(streams.map((stream) => jsm.streams.delete(stream).catch(() => false)));
    // Durable consumers it made on streams that stay (monitoring's on the prediction logs).
    await Promise.all((buckets.consumers ?? []).map((c) => jsm.consumers.delete(c.stream, c.name).catch(() => false)));
  } catch {
    // Nothing more to do: leftover buckets only cost disk space.
  } finally {
    await nc.close().catch(() => undefined);
  }
}
