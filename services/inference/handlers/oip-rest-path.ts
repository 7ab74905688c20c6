/** One Open Inference Protocol REST route, as matched from a method and a path. */
export type OipRoute =
  | { readonly kind: "live" }
  | { readonly kind: "ready" }
  | { readonly kind: "server-metadata" }
  | { readonly kind: "model-metadata"; readonly model: string; readonly version: string }
  | { readonly kind: "model-ready"; readonly model: string; readonly version: string }
  | { readonly kind: "model-stats"; readonly model: string; readonly version: string }
  | { readonly kind: "infer"; readonly model: string; readonly version: string }
  /** A known path asked with the wrong method: answer 405 with `allow`. */
  | { readonly kind: "wrong-method"; readonly allow: string }
  /** Under /v2/ but no route: answer 404 saying which routes exist. */
  | { readonly kind: "unknown" };

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer|\/stats)?\/?$/;

/**
 * Matches a request against the KServe V2 / Triton REST routes:
 *   GET  /v2/health/live, /v2/health/ready, /v2
 *   GET  /v2/models/{name}[/versions/{v}]          model metadata
 *   GET  /v2/models/{name}[/versions/{v}]/ready
 *   GET  /v2/models/{name}[/versions/{v}]/stats    (Triton's statistics extension)
 *   POST /v2/models/{name}[/versions/{v}]/infer
 * Returns undefined for paths outside /v2, which belong to someone else.
 * Path segments are percent-decoded; an empty version means the default.
 */
export function matchOipRoute(method: string, url: string): OipRoute | undefined {
  const path = url.split("?")[0] ?? "/";
  if (path !== "/v2" && !path.startsWith("/v2/")) return undefined;
  const get = (route: OipRoute): OipRoute => (method === "GET" || method === "HEAD" ? route : { kind: "wrong-method", allow: "GET" });
  if (path === "/v2" || path === "/v2/") return get({ kind: "server-metadata" });
  if (path === "/v2/health/live") return get({ kind: "live" });
  if (path === "/v2/health/ready") return get({ kind: "ready" });
  const match = MODEL_PATH.exec(path);
  if (!match) return { kind: "unknown" };
  const model = decode(match[1] ?? "");
  const version = decode(match[2] ?? "");
  if (model === undefined || version === undefined) return { kind: "unknown" };
  switch (match[3]) {
    case "/infer":
      return method === "POST" ? { kind: "infer", model, version } : { kind: "wrong-method", allow: "POST" };
    case "/ready":
      return get({ kind: "model-ready", model, version });
    case "/stats":
      return get({ kind: "model-stats", model, version });
    default:
      return get({ kind: "model-metadata", model, version });
  }
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The routes, for a 404 that tells a person what exists. */
export const OIP_ROUTES_HELP =
  "routes: GET /v2, GET /v2/health/live, GET /v2/health/ready, GET /v2/models/{name}[/versions/{v}][/ready|/stats], POST /v2/models/{name}[/versions/{v}]/infer";
