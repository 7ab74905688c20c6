/** The two addresses a service bound, as libs/host logs them. */
export interface ListeningAddresses {
  readonly grpc: string;
  readonly http: string;
}

/**
 * Reads libs/host's `{"msg":"listening","grpc":"h:p","http":"h:p"}` log
 * line; undefined for any other line. This is how the launcher learns the
 * ports of a service started on port 0.
 */
export function listeningAddresses(line: string): ListeningAddresses | undefined {
  if (!line.includes('"listening"')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const fields = parsed as Record<string, unknown>;
  if (fields.msg !== "listening" || typeof fields.grpc !== "string" || typeof fields.http !== "string") return undefined;
  return { grpc: fields.grpc, http: fields.http };
}
