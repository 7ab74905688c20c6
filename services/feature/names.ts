import { invalidArgument } from "../../libs/errors/index.js";

// Entity, view and feature names become NATS KV key tokens, Redis key parts
// and tensor column names, so they keep to a small alphabet.
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
const TAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$/;

/** Checks an entity, view or feature name; `what` says which, for the message. */
export function checkName(name: string, what: string): string {
  if (!NAME.test(name)) {
    throw invalidArgument(`${what} "${name}" is not a valid name: use 1-63 lower-case letters, digits or '_', starting with a letter`);
  }
  return name;
}

export function checkTags(tags: Record<string, string>, where: string): void {
  for (const [key, value] of Object.entries(tags)) {
    if (!TAG_KEY.test(key)) throw invalidArgument(`${where}: tag key "${key}" is not valid: use 1-128 letters, digits, '_', '.', '-' or '/'`);
    if (value.length > 1024) throw invalidArgument(`${where}: tag "${key}" is ${value.length} characters; at most 1024`);
  }
}

export function checkText(text: string, field: string, max: number): void {
  if (text.length > max) throw invalidArgument(`${field} is ${text.length} characters; at most ${max}`);
}
