import { CommanderError } from "commander";
import { Code } from "../../libs/errors/index.js";
import { TopologyError } from "../launcher/topology.js";
import { PeerError } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

/** Exit statuses: 0 done, 1 the operation failed, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface DescribedError {
  /** One line for stderr, without the "tessera: " prefix. */
  readonly message: string;
  readonly exitCode: typeof EXIT_FAILURE | typeof EXIT_USAGE;
}

// grpc-js's words when nothing listens, the name does not resolve, or the host is unreachable.
const CONNECTION_FAILURE = /No connection established|ECONNREFUSED|ECONNRESET|Name resolution failed|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|Connection dropped/i;

/**
 * What to tell a person about a failure, and the exit status. A server's
 * own message is kept (it already says what to do); failures to reach a
 * server say which one, where, and how to point the CLI elsewhere.
 */
export function describeError(error: unknown): DescribedError {
  if (error instanceof UsageError || error instanceof TopologyError) return { message: error.message, exitCode: EXIT_USAGE };
  if (error instanceof CommanderError) return { message: error.message.replace(/^error: /, ""), exitCode: EXIT_USAGE };
  if (error instanceof PeerError) return { message: describePeerError(error), exitCode: EXIT_FAILURE };
  return { message: error instanceof Error ? error.message : String(error), exitCode: EXIT_FAILURE };
}

function describePeerError(error: PeerError): string {
  const { peer, status } = error;
  const raw = status.rawMessage;
  const envName = { "--registry": "TESSERA_REGISTRY_ADDRESS", "--inference": "TESSERA_INFERENCE_ADDRESS", "--monitoring": "TESSERA_MONITORING_ADDRESS", "--feature": "TESSERA_FEATURE_ADDRESS" }[peer.option];
  switch (status.code) {
    case Code.Unavailable:
      if (CONNECTION_FAILURE.test(raw)) {
        return `cannot reach the ${peer.service} at ${peer.address} (${connectionProblem(raw)}): start the mesh with \`tessera up\`, or point ${peer.option} (or ${envName}) at a running one`;
      }
      return `${raw} (unavailable)`;
    case Code.DeadlineExceeded:
      return `the ${peer.service} at ${peer.address} did not answer in time (${raw}); give it longer with --timeout <ms>, or look at its log`;
    case Code.Unimplemented:
      return `${peer.address} does not answer this ${peer.service} call (${raw}); is ${peer.option} the ${peer.service}'s gRPC port?`;
    case Code.Internal:
    case Code.Unknown:
      return `the ${peer.service} at ${peer.address} failed: ${raw} (see its log)`;
    case Code.NotFound: {
      // The registry words this for API callers ("create it first (CreateModel, ...)"); say it for CLI users.
      const missing = /^model "([^"]+)" does not exist/.exec(raw);
      if (missing) return `model "${missing[1]}" not found in the ${peer.service} at ${peer.address}; \`tessera models ls\` lists its models, \`tessera models push\` adds one`;
      return `${raw} (not found)`;
    }
    default:
      return `${raw} (${codeName(status.code)})`;
  }
}

/** "not found", "invalid argument": the gRPC code as words. */
export function codeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

/** grpc-js words a failed connection at length ("No connection established. Last error: ..."); name the cause. */
function connectionProblem(text: string): string {
  if (/ECONNREFUSED/.test(text)) return "connection refused";
  if (/ENOTFOUND|Name resolution failed/i.test(text)) return "host not found";
  if (/EHOSTUNREACH/.test(text)) return "host unreachable";
  if (/ETIMEDOUT/.test(text)) return "connection timed out";
  if (/ECONNRESET|Connection dropped/i.test(text)) return "connection dropped";
  return text.split(". ")[0] ?? text;
}
