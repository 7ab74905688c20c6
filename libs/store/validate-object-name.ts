import { invalidArgument } from "../errors/index.js";

const namePattern = /^[-/_=.a-zA-Z0-9]{1,255}$/;

/** Throws INVALID_ARGUMENT unless `name` is a valid object name (the same rule for both adapters). */
export function validateObjectName(name: string): void {
  if (!namePattern.test(name)) {
    throw invalidArgument(
      `invalid object name "${name}": use 1 to 255 letters, digits or - / _ = . (e.g. "sha256/<hex>")`,
    );
  }
}
