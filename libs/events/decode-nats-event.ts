import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Match, type MsgHdrs } from "@nats-io/transport-node";
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
    (name) => (m.headers?.has(name, Match.IgnoreCase) ? m.headers.get(name, Match.IgnoreCase) : undefined),
    m.data,
    schemas,
  );
}
