import { invalidArgument } from "../../../libs/errors/index.js";
import type { HostTensor } from "./host-tensor.js";
import { preview } from "./json-elements.js";
import { jsonKind } from "./json-kind.js";
import { fromRestInput } from "./rest-tensor.js";

export type RestParameterValue = string | number | boolean;

export interface RestRequestedOutput {
  readonly name: string;
  /** parameters.binary_data: answer this output in the binary tail. */
  readonly binary: boolean;
}

/** A KServe V2 REST inference request body, checked and decoded. */
export interface RestInferRequest {
  readonly id?: string;
  readonly parameters: Readonly<Record<string, RestParameterValue>>;
  /** By name, in request order. */
  readonly inputs: Map<string, HostTensor>;
  /** The outputs asked for; undefined when the request names none (answer all). */
  readonly outputs?: readonly RestRequestedOutput[];
  /** parameters.binary_data_output: answer every output in the binary tail. */
  readonly binaryOutput: boolean;
}

const EXPECTED = `{"inputs": [{"name", "shape", "datatype", "data"}, ...]} with optional "id", "parameters" and "outputs": [{"name"}]`;

/**
 * Parses a KServe V2 REST request (`POST /v2/models/{m}/infer`). `binary` is the part of the
 * body after the JSON header when the client uses the binary data extension
 * (Inference-Header-Content-Length); inputs with parameters.binary_data_size take their
 * bytes from it in input order, and it must be used up exactly.
 */
export function parseRestRequest(body: unknown, binary?: Uint8Array): RestInferRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument(`request body must be a JSON object ${EXPECTED}, got ${jsonKind(body)}`);
  }
  const o = body as Record<string, unknown>;
  if (o.id !== undefined && typeof o.id !== "string") {
    throw invalidArgument(`"id" must be a string, got ${preview(o.id)}`);
  }
  const parameters = parseParameters(o.parameters, "request");
  if (!Array.isArray(o.inputs)) {
    throw invalidArgument(
      o.inputs === undefined
        ? `request body has no "inputs"; send ${EXPECTED}`
        : `"inputs" must be an array, got ${jsonKind(o.inputs)}`,
    );
  }
  if (o.inputs.length === 0) throw invalidArgument(`"inputs" is empty; send at least one input`);
  const inputs = new Map<string, HostTensor>();
  let tail = binary;
  o.inputs.forEach((json: unknown, i) => {
    const input = fromRestInput(json, tail, `inputs[${i}]`);
    if (inputs.has(input.name)) {
      throw invalidArgument(`input '${input.name}' appears more than once in "inputs"; send each input once`);
    }
    inputs.set(input.name, input.tensor);
    if (input.binaryBytes > 0) tail = tail!.subarray(input.binaryBytes);
  });
  if (tail !== undefined && tail.byteLength > 0) {
    throw invalidArgument(
      `the body's binary part has ${tail.byteLength} bytes that no input claims; ` +
        `set parameters.binary_data_size on each binary input`,
    );
  }
  const outputs = o.outputs === undefined ? undefined : parseOutputs(o.outputs);
  const binaryOutput = parameters.binary_data_output;
  if (binaryOutput !== undefined && typeof binaryOutput !== "boolean") {
    throw invalidArgument(`parameters.binary_data_output must be true or false, got ${preview(binaryOutput)}`);
  }
  return {
    ...(typeof o.id === "string" ? { id: o.id } : {}),
    parameters,
    inputs,
    ...(outputs === undefined ? {} : { outputs }),
    binaryOutput: binaryOutput === true,
  };
}

/** parseRestRequest for body text; a syntax error is INVALID_ARGUMENT, not a crash. */
export function parseRestRequestJson(text: string, binary?: Uint8Array): RestInferRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw invalidArgument(`request body is not valid JSON (${(cause as Error).message}); send ${EXPECTED}`, cause);
  }
  return parseRestRequest(body, binary);
}

function parseParameters(value: unknown, where: string): Record<string, RestParameterValue> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidArgument(`${where} "parameters" must be an object, got ${jsonKind(value)}`);
  }
  const out: Record<string, RestParameterValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw invalidArgument(`${where} parameter "${key}" must be a string, number or boolean, got ${jsonKind(v)}`);
    }
    out[key] = v;
  }
  return out;
}

function parseOutputs(value: unknown): RestRequestedOutput[] {
  if (!Array.isArray(value)) {
    throw invalidArgument(`"outputs" must be an array of {"name": ...}, got ${jsonKind(value)}`);
  }
  const seen = new Set<string>();
  return value.map((entry: unknown, i): RestRequestedOutput => {
    if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
      throw invalidArgument(`outputs[${i}] must be an object with a "name", got ${jsonKind(entry)}`);
    }
    const e = entry as Record<string, unknown>;
    if (typeof e.name !== "string" || e.name === "") {
      throw invalidArgument(`outputs[${i}]: "name" must be a non-empty string, got ${preview(e.name)}`);
    }
    if (seen.has(e.name)) throw invalidArgument(`output '${e.name}' is asked for more than once in "outputs"`);
    seen.add(e.name);
    const parameters = parseParameters(e.parameters, `output '${e.name}'`);
    const binary = parameters.binary_data;
    if (binary !== undefined && typeof binary !== "boolean") {
      throw invalidArgument(`output '${e.name}': parameters.binary_data must be true or false, got ${preview(binary)}`);
    }
    return { name: e.name, binary: binary === true };
  });
}
