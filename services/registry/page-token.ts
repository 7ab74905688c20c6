import { invalidArgument } from "../../libs/errors/index.js";

/**
 * Page tokens are opaque to clients: the last key of the previous page,
 * base64url-encoded. Listing resumes after it, so pages stay stable while
 * other writers add entries.
 */
export function encodePageToken(lastKey: string): string {
  return Buffer.from(lastKey, "utf8").toString("base64url");
}

export function decodePageToken(token: string, expectedPrefix: string): string | undefined {
  if (token === "") return undefined;
  const key = Buffer.from(token, "base64url").toString("utf8");
  if (!key.startsWith(expectedPrefix)) throw invalidArgument("page_token is not valid for this listing: pass the next_page_token of the previous page unchanged");
  return key;
}

/** 0 means the default (100); more than 1000 is refused. */
export function resolvePageSize(pageSize: number): number {
  if (pageSize === 0) return 100;
  if (pageSize > 1000) throw invalidArgument(`page_size is ${pageSize}; at most 1000`);
  return pageSize;
}

/** One page of sorted keys after `afterKey`, and the token for the next. */
export function pageOf(sortedKeys: readonly string[], afterKey: string | undefined, pageSize: number): { keys: string[]; nextPageToken: string } {
  const start = afterKey === undefined ? 0 : sortedKeys.findIndex((key) => key > afterKey);
  if (start === -1) return { keys: [], nextPageToken: "" };
  const keys = sortedKeys.slice(start, start + pageSize);
  const more = start + pageSize < sortedKeys.length;
  return { keys, nextPageToken: more ? encodePageToken(keys[keys.length - 1]!) : "" };
}
