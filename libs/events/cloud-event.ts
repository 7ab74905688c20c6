import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { randomUUID } from "node:crypto";
import { invalidArgument } from "../errors/index.js";
import type { BusEvent, PublishOptions } from "./event-bus.js";

/** The content type of every event payload: the protobuf binary encoding. */
export const EVENT_CONTENT_TYPE = "application/protobuf";

/** An event on the wire: CloudEvents binary mode, attributes as headers. */
export interface CloudEventEnvelope {
  headers: Record<string, string>;
  data: Uint8Array;
}

/** Builds the headers and payload for one event. `id` defaults to a fresh UUID, `time` (for tests) to now. */
export function encodeCloudEvent<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  options: PublishOptions & { time?: Date },
): CloudEventEnvelope {
  return { headers: cloudEventHeaders(schema.typeName, options), data: toBinary(schema, message) };
}

/** The CloudEvent attributes of one event of `type`, as headers: for a payload encoded some other way than `toBinary`. */
export function cloudEventHeaders(type: string, options: PublishOptions & { time?: Date }): Record<string, string> {
  if (options.source.trim() === "") throw invalidArgument("an event needs a source, e.g. \"tessera/registry\"");
  const headers: Record<string, string> = {
    "ce-specversion": "1.0",
    "ce-type": type,
    "ce-source": options.source,
    "ce-id": options.id ?? randomUUID(),
    "ce-time": (options.time ?? new Date()).toISOString(),
    "content-type": EVENT_CONTENT_TYPE,
  };
  if (options.traceparent) headers.traceparent = options.traceparent;
  if (options.traceparent && options.tracestate) headers.tracestate = options.tracestate;
  return headers;
}

export type DecodedCloudEvent<M> = { event: BusEvent<M> } | { problem: string };

/**
 * Reads an event back, accepting only the given types. Returns a problem
 * (to log) instead of throwing: one bad event must not stop a subscriber.
 * `header` looks a header up by its lowercase name.
 */
export function decodeCloudEvent<Desc extends DescMessage>(
  subject: string,
  header: (name: string) => string | undefined,
  data: Uint8Array,
  schemas: ReadonlyMap<string, Desc>,
): DecodedCloudEvent<MessageShape<Desc>> {
  const specversion = header("ce-specversion");
  if (specversion !== "1.0") return { problem: `not a CloudEvents 1.0 event (ce-specversion is ${specversion ?? "missing"})` };
  const type = header("ce-type");
  const id = header("ce-id");
  const source = header("ce-source");
  if (!type || !id || !source) return { problem: "ce-type, ce-id or ce-source is missing" };
  const contentType = header("content-type");
  if (contentType !== EVENT_CONTENT_TYPE) return { problem: `content-type is ${contentType ?? "missing"}, expected ${EVENT_CONTENT_TYPE}` };
  const schema = schemas.get(type);
  if (schema === undefined) return { problem: `type ${type} is not one this subscriber reads (${[...schemas.keys()].join(", ")})` };
  const rawTime = header("ce-time");
  const time = rawTime === undefined ? new Date(Number.NaN) : new Date(rawTime);
  if (Number.isNaN(time.getTime())) return { problem: `ce-time is ${rawTime ?? "missing"}, expected an RFC 3339 time` };
  let message: MessageShape<Desc>;
  try {
    message = fromBinary(schema, data);
  } catch (err) {
    return { problem: `payload does not decode as ${type}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const traceparent = header("traceparent");
  const tracestate = traceparent ? header("tracestate") : undefined;
  return { event: { subject, type, id, time, source, ...(traceparent ? { traceparent } : {}), ...(tracestate ? { tracestate } : {}), message } };
}

/** The schemas a subscriber reads, by type name. */
export function schemaMap<Desc extends DescMessage>(schemas: Desc | readonly Desc[]): Map<string, Desc> {
  const list: readonly Desc[] = Array.isArray(schemas) ? schemas : [schemas as Desc];
  if (list.length === 0) throw invalidArgument("subscribe needs at least one message schema");
  return new Map(list.map((s) => [s.typeName, s]));
}
