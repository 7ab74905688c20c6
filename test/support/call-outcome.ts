import { ConnectError, type Code } from "@connectrpc/connect";

/** The error a call must fail with; throws when it succeeds. */
export async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

/** How a call ended: "ok", or its code and message — for tables of calls that may pass or fail. */
export async function callOutcome(promise: Promise<unknown>): Promise<{ code: Code | "ok"; message: string }> {
  try {
    await promise;
    return { code: "ok", message: "" };
  } catch (error) {
    const ce = ConnectError.from(error);
    return { code: ce.code, message: ce.rawMessage };
  }
}

/** The code a call ended with, or "ok". */
export async function callCode(promise: Promise<unknown>): Promise<Code | "ok"> {
  return (await callOutcome(promise)).code;
}
