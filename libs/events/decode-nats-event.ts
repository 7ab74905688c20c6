import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { MeshNames } from "../mesh-names/index.js";
import { decodeCloudEvent, type DecodedCloudEvent } from "./cloud-event.js";

/**
 * decodeCloudEvent() for a NATS message: its wire subject mapped back to
 * the logical one (mesh names), its headers read case-insensitively.
 */
export function decodeNatsCloudEvent<Desc extends DescMessage>(
  m: { readonly subject: string; readonly data: Uint8Array; readonly headers?: MsgHdrs | undefined },
  names: MeshNames,
  schemas: ReadonlyMap<string, Desc>,
): DecodedCloudEvent<MessageShape<Desc>> {
  return decodeCloudEvent(
    names.logicalSubject(m.subject),
    natsHeaderReader(m.headers),
    m.data,
    schemas,
  );
}

/**
 * Reads a NATS message's headers by lowercase name (the first value of
 * each), as decodeCloudEvent asks for them. The names are lowercased once
 * per message: MsgHdrs' own case-insensitive lookup lists and lowercases
 * every key on each call, and an event is read by eight of them.
 */
export function natsHeaderReader(headers: MsgHdrs | undefined): (name: string) => string | undefined {
  if (!headers) return () => undefined;
  const byName = new Map<string, string>();
  for (const [key, values] of headers) {
    const name = key.toLowerCase();
    if (!byName.has(name) && values.length > 0) byName.set(name, values[0]!);
  }
  return (name) => byName.get(name);
}
