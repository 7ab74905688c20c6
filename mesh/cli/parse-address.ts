import { InvalidArgumentError } from "commander";

const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * Commander argument parser for host:port (a service's gRPC port). A
 * scheme is dropped ("http://h:p" → "h:p"), since people paste URLs.
 */
export function parseAddress(text: string): string {
  const value = text.trim().replace(/^(?:https?|grpc):\/\//, "").replace(/\/$/, "");
  const match = ADDRESS.exec(value);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new InvalidArgumentError(`"${text}" is not host:port (e.g. 127.0.0.1:50051)`);
  }
  return value;
}
