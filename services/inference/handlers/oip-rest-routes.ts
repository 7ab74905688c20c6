import type { IncomingMessage, ServerResponse } from "node:http";
import { create, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, invalidArgument, resourceExhausted } from "../../../libs/errors/index.js";
import { ModelStatisticsResponseSchema, ModelMetadataResponseSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { sendJson, type HttpRoute } from "../../../libs/host/index.js";
import { traceHttpRequest } from "../../../libs/telemetry/index.js";
import { withReason } from "../error-reason.js";
import type { InferenceMetrics } from "../inference-metrics.js";
import type { ModelManager } from "../serving/model-manager.js";
import { parseRestRequestJson, toRestBinaryOutput, toRestOutput, type RestParameterValue } from "../tensor/index.js";
import { modelMetadata, modelStatistics, SERVER_EXTENSIONS, SERVER_NAME } from "./model-descriptions.js";
import { oipTarget } from "./oip-parameters.js";
import { matchOipRoute, OIP_ROUTES_HELP, type OipRoute } from "./oip-rest-path.js";
import { restStatusFor } from "./rest-status.js";
import { requestOrigin } from "../logging/request-origin.js";
import { runInference } from "./run-inference.js";

export interface OipRestOptions {
  readonly serverVersion: string;
  readonly hostReady: () => boolean;
  /** Largest request body, bytes. */
  readonly maxBodyBytes: number;
}

const SUFFIX = { "model-metadata": "", "model-ready": "/ready", "model-stats": "/stats", infer: "/infer" } as const;

/** Header of the binary tensor data extension: the JSON part's length; the rest of the body is tensor bytes. */
const HEADER_LENGTH = "inference-header-content-length";

/**
 * The Open Inference Protocol's REST form (KServe V2 / Triton) on the HTTP
 * port, as one libs/host HttpRoute: answers /v2 paths, passes on the rest.
 * Errors are `{"error": "..."}` with the HTTP status restStatusFor() gives.
 */
export function oipRestRoutes(manager: ModelManager, metrics: InferenceMetrics, options: OipRestOptions): HttpRoute {
  return async (request, response) => {
    const route = matchOipRoute(request.method ?? "GET", request.url ?? "/");
    if (!route) return false;
    // Model routes get a server span (the OIP gRPC and Connect calls get theirs from libs/host); health checks do not.
    if ("model" in route) {
      const template = `/v2/models/{name}${route.version !== "" ? "/versions/{version}" : ""}${SUFFIX[route.kind]}`;
      return traceHttpRequest(request, response, template, () => answer(request, response, route));
    }
    return answer(request, response, route);
  };

  async function answer(request: IncomingMessage, response: ServerResponse, route: OipRoute): Promise<boolean> {
    try {
      switch (route.kind) {
        case "live":
          sendJson(response, 200, { live: true });
          break;
        case "ready": {
          const ready = options.hostReady() && manager.isReady();
          sendJson(response, ready ? 200 : 503, { ready });
          break;
        }
        case "server-metadata":
          sendJson(response, 200, { name: SERVER_NAME, version: options.serverVersion, extensions: [...SERVER_EXTENSIONS] });
          break;
        case "model-metadata": {
          const metadata = modelMetadata(manager, route.model, route.version);
          sendJson(response, 200, {
            ...(toJson(ModelMetadataResponseSchema, create(ModelMetadataResponseSchema, metadata)) as object),
            // JSON numbers, not the int64-as-string of proto JSON: what KServe clients parse.
            inputs: metadata.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
            outputs: metadata.outputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) })),
          });
          break;
        }
        case "model-ready":
          try {
            manager.resolve(oipTarget(route.model, route.version));
            sendJson(response, 200, { name: route.model, ready: true });
          } catch (error) {
            if (ConnectError.from(error).code === Code.NotFound) throw error;
            sendJson(response, 503, { name: route.model, ready: false, error: ConnectError.from(error).rawMessage });
          }
          break;
        case "model-stats":
          sendJson(
            response,
            200,
            toJson(ModelStatisticsResponseSchema, create(ModelStatisticsResponseSchema, { modelStats: modelStatistics(manager, route.model, route.version) }), {
              useProtoFieldName: true,
            }),
          );
          break;
        case "infer":
          await infer(request, response, route.model, route.version);
          break;
        case "wrong-method":
          response.setHeader("allow", route.allow);
          sendJson(response, 405, { error: `use ${route.allow} for ${request.url ?? ""}` });
          break;
        case "unknown":
          sendJson(response, 404, { error: `no route ${request.method ?? ""} ${request.url ?? ""}; ${OIP_ROUTES_HELP}` });
          break;
      }
    } catch (reason) {
      sendError(response, ConnectError.from(reason, Code.Internal));
    }
    return true;
  }

  async function infer(request: IncomingMessage, response: ServerResponse, model: string, version: string): Promise<void> {
    // An unknown model is 404 before a body is read and parsed; runInference resolves again, after.
    manager.resolve(oipTarget(model, version));
    const body = await readBody(request, options.maxBodyBytes);
    const { json, binary } = splitBody(body, request.headers[HEADER_LENGTH]);
    const parsed = parseRestRequestJson(json, binary);
    const abort = new AbortController();
    // The client went away before the answer: stop waiting in the queue.
    response.on("close", () => {
      if (!response.writableFinished) abort.abort(new ConnectError("the client closed the connection", Code.Canceled));
    });
    const answer = await runInference(manager, metrics, {
      target: oipTarget(model, version),
      inputs: () => parsed.inputs,
      outputNames: parsed.outputs?.map((o) => o.name) ?? [],
      priority: countParameter(parsed.parameters, "priority"),
      queueTimeoutUs: countParameter(parsed.parameters, "timeout"),
      signal: abort.signal,
      origin: () => requestOrigin(headersOf(request)),
    });
    const binaryNames = new Set(parsed.outputs?.filter((o) => o.binary).map((o) => o.name) ?? []);
    const tails: Uint8Array[] = [];
    const outputs = [...answer.outputs].map(([name, host]) => {
      if (!parsed.binaryOutput && !binaryNames.has(name)) return toRestOutput(name, host);
      const { tensor, raw } = toRestBinaryOutput(name, host);
      tails.push(raw);
      return tensor;
    });
    const header = JSON.stringify({
      model_name: answer.version.model,
      model_version: String(answer.version.version),
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      outputs,
    });
    if (tails.length === 0) {
      response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(header) });
      response.end(header);
      return;
    }
    const headerBytes = Buffer.from(header);
    const payload = Buffer.concat([headerBytes, ...tails]);
    response.writeHead(200, {
      "content-type": "application/octet-stream",
      "content-length": payload.byteLength,
      [HEADER_LENGTH]: headerBytes.byteLength,
    });
    response.end(payload);
  }
}

function sendError(response: ServerResponse, error: ConnectError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const pushback = error.metadata.get("grpc-retry-pushback-ms");
  if (pushback !== null && /^\d+$/.test(pushback)) response.setHeader("retry-after", String(Math.max(1, Math.ceil(Number(pushback) / 1000))));
  sendJson(response, restStatusFor(error), { error: error.rawMessage });
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): ConnectError {
  // 413, not 429: the same body is always too large.
  return withReason(resourceExhausted(`the request body is larger than ${limit} bytes; send fewer rows per request`), "payload-too-large");
}

function splitBody(body: Buffer, headerLength: string | string[] | undefined): { json: string; binary?: Uint8Array } {
  if (headerLength === undefined) return { json: body.toString("utf8") };
  const text = Array.isArray(headerLength) ? headerLength[0] ?? "" : headerLength;
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > body.byteLength) {
    throw invalidArgument(`${HEADER_LENGTH} is "${text}" but the body has ${body.byteLength} bytes; it must be the length of the JSON part`);
  }
  return { json: body.subarray(0, n).toString("utf8"), binary: new Uint8Array(body.buffer, body.byteOffset + n, body.byteLength - n) };
}

function countParameter(parameters: Readonly<Record<string, RestParameterValue>>, key: string): number | undefined {
  const value = parameters[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`parameters.${key} must be a whole number, 0 or more; got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A Node request's headers as a fetch Headers (a repeated header joined, as fetch does). */
function headersOf(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}
