import { InvalidArgumentError } from "commander";

/** Commander argument parser for a version number: a whole number from 1 to 2^32-1 (the wire's uint32). */
export function parseVersionNumber(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 0xffffffff) {
    throw new InvalidArgumentError(`"${text}" is not a version number; versions are whole numbers from 1`);
  }
  return value;
}

/** Commander argument parser for a duration in milliseconds: a whole number from 1. */
export function parseMilliseconds(text: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`"${text}" is not a duration; give whole milliseconds, e.g. 30000`);
  return value;
}
