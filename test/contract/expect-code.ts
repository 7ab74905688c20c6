import { expect } from "vitest";
import { Code, ConnectError } from "../../libs/errors/index.js";

/** Asserts that `promise` rejects with a ConnectError carrying `code`; returns it for more checks. */
export async function expectCode(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${Code[code]}, but it succeeded`).toBeInstanceOf(ConnectError);
  const ce = err as ConnectError;
  expect(Code[ce.code], ce.message).toBe(Code[code]);
  return ce;
}
