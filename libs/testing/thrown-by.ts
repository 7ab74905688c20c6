import { ConnectError } from "../errors/index.js";

/** The ConnectError `fn` throws; fails (throws) when it throws nothing or something else. */
export function thrownBy(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw new Error(`expected a ConnectError, got ${String(error)}`);
  }
  throw new Error("expected a ConnectError, nothing was thrown");
}
