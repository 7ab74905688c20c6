import { readdirSync } from "node:fs";
import { create, isMessage, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileOptionsSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { TensorSchema } from "../gen/tessera/inference/v1/inference_pb.js";
import { messageFactory } from "./message-factory.js";

const genDir = new URL("../gen/", import.meta.url);

/** Every message schema the project generates, nested ones included (protobuf-es exports them at top level). */
async function generatedSchemas(): Promise<DescMessage[]> {
  const files = readdirSync(genDir, { recursive: true, encoding: "utf8" }).filter((f) => /_pb\.[jt]s$/.test(f));
  const schemas: DescMessage[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, genDir).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "message") schemas.push(value as DescMessage);
    }
  }
  return schemas;
}

describe("messageFactory()", () => {
  it("returns what create(schema) returns, keys in the same order, for every generated message", async () => {
    const schemas = await generatedSchemas();
    expect(schemas.length).toBeGreaterThan(100);
    for (const schema of schemas) {
      const made = messageFactory(schema)();
      const created = create(schema);
      expect(made, schema.typeName).toStrictEqual(created);
      expect(Object.keys(made), schema.typeName).toEqual(Object.keys(created));
      expect(isMessage(made, schema)).toBe(true);
      expect(toBinary(schema, made)).toEqual(toBinary(schema, created));
    }
  });

  it("compiles a literal (not create) for every proto3 message of ours", async () => {
    const ours = (await generatedSchemas()).filter((s) => s.typeName.startsWith("tessera.") || s.typeName.startsWith("inference."));
    expect(ours.filter((schema) => messageFactory(schema).name !== "zeroMessage").map((s) => s.typeName)).toEqual([]);
  });

  it("gives each message lists, maps and bytes of its own", () => {
    const newTensor = messageFactory(TensorSchema);
    const a = newTensor();
    const b = newTensor();
    a.shape.push(3n);
    a.stringData.push("x");
    expect(b.shape).toEqual([]);
    expect(b.stringData).toEqual([]);
    expect(a.rawData).not.toBe(b.rawData);
  });

  it("writes the fields set on it as create() with the same values would", () => {
    const tensor = messageFactory(TensorSchema)();
    tensor.name = "score";
    tensor.dtype = 1;
    tensor.shape = [1n, 2n];
    tensor.floatData = [0.5, -1];
    expect(toBinary(TensorSchema, tensor)).toEqual(toBinary(TensorSchema, create(TensorSchema, { name: "score", dtype: 1, shape: [1n, 2n], floatData: [0.5, -1] })));
  });

  it("falls back to create() for a schema whose defaults live on a prototype (proto2)", () => {
    const made = messageFactory(FileOptionsSchema)();
    expect(Object.getPrototypeOf(made)).not.toBe(Object.prototype);
    expect(made.optimizeFor).toBe(create(FileOptionsSchema).optimizeFor);
    expect(made).toStrictEqual(create(FileOptionsSchema));
  });
});
