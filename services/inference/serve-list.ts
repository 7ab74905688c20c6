/**
 * One model version a replica is told to serve: by alias (followed as it
 * moves) or by number (pinned).
 */
export type ServeSpec =
  | { readonly model: string; readonly alias: string; readonly version?: undefined }
  | { readonly model: string; readonly version: number; readonly alias?: undefined };

/** The alias a bare model name means: what production traffic should see. */
export const DEFAULT_ALIAS = "production";

// The registry's own name rules (services/registry/names.ts), repeated here
// because services meet only through contracts: a typo should stop start-up,
// not surface as NOT_FOUND on the first request.
const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const VERSION = /^[0-9]+$/;

/**
 * Parses a serve list such as "fraud@production,wide@3,other": model@alias,
 * model@version, or a bare model (meaning model@production). Blank entries
 * and spaces around entries are ignored. Throws a RangeError saying which
 * entry is wrong and what a right one looks like.
 */
export function parseServeList(text: string): ServeSpec[] {
  const specs: ServeSpec[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const spec = parseServeEntry(entry);
    const key = formatServeSpec(spec);
    if (seen.has(key)) throw new RangeError(`"${key}" is listed twice; list each model@alias or model@version once`);
    seen.add(key);
    specs.push(spec);
  }
  return specs;
}

function parseServeEntry(entry: string): ServeSpec {
  const at = entry.indexOf("@");
  const model = at < 0 ? entry : entry.slice(0, at);
  const selector = at < 0 ? DEFAULT_ALIAS : entry.slice(at + 1);
  const example = `write model@alias, model@version or model (e.g. "fraud@production,wide@3")`;
  if (!MODEL_NAME.test(model)) {
    throw new RangeError(
      `"${entry}": "${model}" is not a model name (1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit); ${example}`,
    );
  }
  if (VERSION.test(selector)) {
    const version = Number(selector);
    if (!Number.isSafeInteger(version) || version < 1 || version > 0xffffffff) {
      throw new RangeError(`"${entry}": version ${selector} is out of range; versions start at 1`);
    }
    return { model, version };
  }
  if (!ALIAS_NAME.test(selector)) {
    throw new RangeError(
      `"${entry}": "${selector}" is neither a version number nor an alias (1-63 lower-case letters, digits, '-' or '_', starting with a letter); ${example}`,
    );
  }
  return { model, alias: selector };
}

/** "fraud@production" / "wide@3": the form parseServeList reads. */
export function formatServeSpec(spec: ServeSpec): string {
  return spec.alias !== undefined ? `${spec.model}@${spec.alias}` : `${spec.model}@${spec.version}`;
}
