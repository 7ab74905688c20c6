import type { Duration } from "@bufbuild/protobuf/wkt";

/** A protobuf Duration in milliseconds; unset is 0. */
export function durationMs(duration: Duration | undefined): number {
  return duration ? Number(duration.seconds) * 1000 + Math.trunc(duration.nanos / 1e6) : 0;
}
