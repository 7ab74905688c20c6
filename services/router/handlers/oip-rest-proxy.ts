import http, { type IncomingMessage } from "node:http";
import { Metadata, status } from "@grpc/grpc-js";
import { sendJson, type HttpRoute } from "../../../libs/host/index.js";
import { endHttpSpan, startHttpClientSpan, traceHttpRequest } from "../../../libs/telemetry/index.js";
import type { Authorizer } from "../auth/authorizer.js";
import type { AttemptRoute, Dispatcher } from "../forwarding/dispatcher.js";
import { ROUTE_REASON_HEADER, ROUTE_REVISION_HEADER } from "../../../libs/prediction-log/index.js";
import { DEFAULT_STICKY_HEADER, HEADER_DECISION, HEADER_PIN, HEADER_REPLICA, HEADER_VERSION, MESH_TOKEN_HEADER } from "../forwarding/forward-unary.js";
import { UpstreamError } from "../forwarding/upstream-error.js";
import type { RouterMetrics } from "../router-metrics.js";

export interface OipRestProxyOptions {
  dispatcher: Dispatcher;
  authorizer: Authorizer;
  metrics: RouterMetrics;
  ready: () => boolean;
  serverVersion: string;
  maxBodyBytes: number;
  defaultTimeoutMs: number;
  meshToken?: string;
}

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer|\/stats)?\/?$/;
const HTTP_STATUS: Partial<Record<status, number>> = {
  [status.INVALID_ARGUMENT]: 400,
  [status.UNAUTHENTICATED]: 401,
  [status.PERMISSION_DENIED]: 403,
  [status.NOT_FOUND]: 404,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.UNAVAILABLE]: 503,
  [status.DEADLINE_EXCEEDED]: 504,
};
const PASSED_HEADERS = ["content-type", "inference-header-content-length", "traceparent", "tracestate"];

/**
 * The OIP REST form (KServe V2 / Triton HTTP) at the front door: health and
 * server metadata answered here, model paths proxied to a replica's HTTP
 * port chosen like a gRPC call (route, P2C, retries on connection failure
 * or 503, fallback version). An infer routed to a version gets that
 * version in its path.
 */
export function oipRestProxy(options: OipRestProxyOptions): HttpRoute {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return async (request, response) => {
    const path = (request.url ?? "/").split("?")[0] ?? "/";
    if (path !== "/v2" && !path.startsWith("/v2/")) return false;
    if (path === "/v2/health/live") return sendJson(response, 200, { live: true }), true;
    if (path === "/v2/health/ready") {
      const ready = options.ready();
      return sendJson(response, ready ? 200 : 503, { ready }), true;
    }
    if (path === "/v2" || path === "/v2/") {
      return sendJson(response, 200, { name: "tessera", version: options.serverVersion, extensions: ["statistics", "binary_tensor_data", "parameters", "schedule_policy"] }), true;
    }
    const match = MODEL_PATH.exec(path);
    if (!match) return sendJson(response, 404, { error: `no such route ${path}: see /v2/models/{name}[/versions/{v}][/ready|/infer|/stats]` }), true;
    // A server span per model request (health and metadata stay untraced): the dispatch's attributes land on it.
    const template = `/v2/models/{name}${match[2] !== undefined ? "/versions/{version}" : ""}${match[3] ?? ""}`;
    return traceHttpRequest(request, response, template, async () => {
      const started = performance.now();
      const model = decodeURIComponent(match[1] ?? "");
      const versionText = decodeURIComponent(match[2] ?? "");
      const suffix = match[3] ?? "";
      const metadata = headersOf(request);
      let label = { model, version: versionText || "default" };
      let code: status = status.OK;
      try {
        await options.authorizer.check(metadata, `/inference.GRPCInferenceService/${suffix === "/infer" ? "ModelInfer" : "ModelMetadata"}`, model);
        const version = versionText === "" ? undefined : parseVersion(versionText);
        const body = await readBody(request, options.maxBodyBytes);
        const routed = suffix === "/infer";
        const pin = metadata.get(HEADER_PIN)[0];
        // The caller went away: cancel the upstream request too.
        const gone = new AbortController();
        response.once("close", () => {
          if (!response.writableFinished) gone.abort();
        });
        const dispatched = await options.dispatcher.dispatch<HttpAnswer>(
          {
            model,
            version,
            pinnedVersion: routed && typeof pin === "string" ? parseVersion(pin) : undefined,
            stickyKey: routed ? (route) => first(request.headers[route.stickyHeader || DEFAULT_STICKY_HEADER]) : undefined,
            deadlineMs: Date.now() + options.defaultTimeoutMs,
            signal: gone.signal,
          },
          (replica, redirect, deadlineMs, route) => {
            const target = redirect === undefined ? path : `/v2/models/${encodeURIComponent(model)}/versions/${redirect}${suffix}`;
            return proxy(agent, replica.httpAddress, request, target, body, deadlineMs, { meshToken: options.meshToken, route }, gone.signal);
          },
        );
        if (dispatched.version !== undefined) label = { model, version: String(dispatched.version) };
        const answer = dispatched.value;
        const headers: http.OutgoingHttpHeaders = { [HEADER_DECISION]: dispatched.decision, [HEADER_REPLICA]: dispatched.replicaId, "content-length": answer.body.length };
        if (dispatched.version !== undefined) headers[HEADER_VERSION] = String(dispatched.version);
        if (dispatched.degraded) {
          headers["x-tessera-degraded"] = dispatched.degraded;
          options.metrics.degraded.inc({ model, kind: dispatched.degraded });
        }
        for (const key of ["content-type", "inference-header-content-length"]) if (answer.headers[key]) headers[key] = answer.headers[key];
        response.writeHead(answer.status, headers);
        response.end(answer.body);
      } catch (error) {
        const e = error instanceof UpstreamError ? error : new UpstreamError(status.INTERNAL, String((error as Error)?.message ?? error));
        code = e.code;
        if (!response.headersSent) sendJson(response, HTTP_STATUS[e.code] ?? 500, { error: e.details });
        else response.destroy();
      } finally {
        options.metrics.requests.inc({ ...label, code: status[code] ?? String(code), decision: "rest" });
        options.metrics.duration.observe(label, (performance.now() - started) / 1000);
      }
      return true;
    });
  };
}

function proxy(
  agent: http.Agent,
  address: string,
  incoming: IncomingMessage,
  path: string,
  body: Buffer,
  deadlineMs: number,
  set: { meshToken: string | undefined; route: AttemptRoute },
  signal: AbortSignal,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const [host, port] = splitAddress(address);
    const headers: http.OutgoingHttpHeaders = { "content-length": body.length };
    for (const key of PASSED_HEADERS) if (incoming.headers[key] !== undefined) headers[key] = incoming.headers[key];
    // The replica's span hangs under this hop's client span (tracing off: the caller's traceparent passes through).
    const traced = startHttpClientSpan(incoming.method ?? "POST", address);
    Object.assign(headers, traced.headers);
    if (set.meshToken) headers[MESH_TOKEN_HEADER] = set.meshToken;
    headers[ROUTE_REASON_HEADER] = set.route.reason;
    headers[ROUTE_REVISION_HEADER] = String(set.route.revision);
    const outgoing = http.request({ agent, host, port, method: incoming.method, path, headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on("data", (chunk: Buffer) => chunks.push(chunk));
      answer.on("error", (error) => {
        endHttpSpan(traced.span, answer.statusCode);
        reject(new UpstreamError(status.UNAVAILABLE, `replica ${address}: ${error.message}`));
      });
      answer.on("end", () => {
        const result = { status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) };
        // 503: not serving (draining, not ready): another replica may be.
        endHttpSpan(traced.span, result.status);
        if (result.status === 503) reject(new UpstreamError(status.UNAVAILABLE, `replica ${address} answered 503: ${result.body.toString("utf8").slice(0, 200)}`));
        else resolve(result);
      });
    });
    // The caller's deadline bounds the whole exchange (a socket timeout would only bound idle gaps).
    const deadline = setTimeout(
      () => outgoing.destroy(new UpstreamError(status.DEADLINE_EXCEEDED, `replica ${address} did not answer before the deadline`)),
      Math.max(1, deadlineMs - Date.now()),
    ).unref();
    outgoing.on("error", (error) => {
      endHttpSpan(traced.span, undefined);
      reject(error instanceof UpstreamError ? error : new UpstreamError(status.UNAVAILABLE, `replica ${address}: ${error.message}`));
    });
    const onAbort = () => outgoing.destroy(new UpstreamError(status.CANCELLED, "the caller cancelled the request"));
    signal.addEventListener("abort", onAbort, { once: true });
    outgoing.once("close", () => {
      clearTimeout(deadline);
      signal.removeEventListener("abort", onAbort);
    });
    if (signal.aborted) onAbort();
    else outgoing.end(body);
  });
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new UpstreamError(status.RESOURCE_EXHAUSTED, `request body is over ${limit} bytes (TESSERA_ROUTER_MAX_MESSAGE_BYTES)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headersOf(request: IncomingMessage): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(request.headers)) {
    const v = first(value);
    if (v !== undefined && !key.endsWith("-bin")) metadata.set(key, v);
  }
  return metadata;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at).replace(/^\[|\]$/g, ""), Number(address.slice(at + 1))];
}

function parseVersion(text: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new UpstreamError(status.INVALID_ARGUMENT, `version "${text}" is not a version number (1, 2, ...)`);
  return Number(text);
}

