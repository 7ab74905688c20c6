import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  AliasDeletedSchema,
  AliasMovedSchema,
} from "../gen/tessera/events/v1/registry_events_pb.js";
import { decodeCloudEvent, encodeCloudEvent, schemaMap } from "./cloud-event.js";

const moved = create(AliasMovedSchema, { model: "iris", alias: "production", version: 2, previousVersion: 1 });
const time = new Date("2025-05-06T07:08:09.010Z");

describe("encodeCloudEvent()", () => {
  it("writes the CloudEvents 1.0 binary-mode headers and the protobuf bytes", () => {
    const { headers, data } = encodeCloudEvent(AliasMovedSchema, moved, {
      source: "tessera/registry",
      traceparent: "00-aa-bb-01",
      id: "id-1",
      time,
    });
    expect(headers).toEqual({
      "ce-specversion": "1.0",
      "ce-type": "tessera.events.v1.AliasMoved",
      "ce-source": "tessera/registry",
      "ce-id": "id-1",
      "ce-time": "2025-05-06T07:08:09.010Z",
      "content-type": "application/protobuf",
      traceparent: "00-aa-bb-01",
    });
    expect(data.byteLength).toBeGreaterThan(0);
  });

  it("makes a fresh UUID and the current time when none are given", () => {
    const a = encodeCloudEvent(AliasMovedSchema, moved, { source: "s" });
    const b = encodeCloudEvent(AliasMovedSchema, moved, { source: "s" });
    expect(a.headers["ce-id"]).not.toBe(b.headers["ce-id"]);
    expect(Number.isNaN(Date.parse(a.headers["ce-time"] ?? ""))).toBe(false);
  });
});

describe("decodeCloudEvent()", () => {
  const { headers, data } = encodeCloudEvent(AliasMovedSchema, moved, { source: "s", id: "id-1", time });
  const lookup = (h: Record<string, string>) => (name: string) => h[name];

  it("reads back what encodeCloudEvent wrote", () => {
    const decoded = decodeCloudEvent("tessera.x", lookup(headers), data, schemaMap(AliasMovedSchema));
    expect(decoded).toEqual({
      event: { subject: "tessera.x", type: "tessera.events.v1.AliasMoved", id: "id-1", time, source: "s", message: moved },
    });
  });

  const broken: [string, Record<string, string | undefined>, RegExp][] = [
    ["another spec version", { "ce-specversion": "0.3" }, /specversion/],
    ["no id", { "ce-id": undefined }, /ce-id/],
    ["a JSON payload", { "content-type": "application/json" }, /content-type/],
    ["an unknown type", { "ce-type": "tessera.events.v1.Other" }, /not one this subscriber reads/],
    ["a bad time", { "ce-time": "yesterday" }, /ce-time/],
  ];
  it.each(broken)("reports a problem for %s instead of throwing", (_what, change, problem) => {
    const h = { ...headers, ...change } as Record<string, string>;
    const decoded = decodeCloudEvent("tessera.x", lookup(h), data, schemaMap(AliasMovedSchema));
    expect("problem" in decoded && decoded.problem).toMatch(problem);
  });

  it("reports a problem for bytes that are not the named message", () => {
    const decoded = decodeCloudEvent("tessera.x", lookup(headers), new Uint8Array([0xff, 0xff, 0xff]), schemaMap(AliasMovedSchema));
    expect("problem" in decoded && decoded.problem).toMatch(/does not decode/);
  });

  it("picks the schema named by ce-type among several", () => {
    const decoded = decodeCloudEvent("tessera.x", lookup(headers), data, schemaMap([AliasDeletedSchema, AliasMovedSchema]));
    expect("event" in decoded && decoded.event.message.$typeName).toBe("tessera.events.v1.AliasMoved");
  });
});
