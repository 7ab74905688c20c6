import { invalidArgument } from "../../../libs/errors/index.js";
import type { InferParameter } from "../../../libs/gen/inference/grpc_service_pb.js";
import type { Target } from "../serving/served-table.js";

/**
 * A whole-number request parameter, as Triton clients send them: "priority"
 * as uint64_param, "timeout" (µs) as int64_param; any integer kind, or a
 * decimal string, is accepted. Undefined when absent.
 */
export function readCountParameter(parameters: Record<string, InferParameter>, key: string): number | undefined {
  const choice = parameters[key]?.parameterChoice;
  if (!choice || choice.case === undefined) return undefined;
  let value: number;
  switch (choice.case) {
    case "int64Param":
    case "uint64Param":
      value = Number(choice.value);
      break;
    case "doubleParam":
      value = choice.value;
      break;
    case "stringParam":
      value = /^\s*\d+\s*$/.test(choice.value) ? Number(choice.value) : NaN;
      break;
    case "boolParam":
      value = NaN;
      break;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`parameter "${key}" must be a whole number, 0 or more; got ${String(choice.value)} (${choice.case})`);
  }
  return value;
}

/** A boolean request parameter ("binary_data_output", "binary_data"); false when absent. */
export function readBoolParameter(parameters: Record<string, InferParameter>, key: string): boolean {
  const choice = parameters[key]?.parameterChoice;
  if (!choice || choice.case === undefined) return false;
  if (choice.case === "boolParam") return choice.value;
  throw invalidArgument(`parameter "${key}" must be a bool_param; got ${choice.case}`);
}

/**
 * An OIP model version string as a target: "" the default, digits a version
 * number, anything else an alias ("production"), so alias URLs work too.
 */
export function oipTarget(model: string, version: string): Target {
  if (version === "") return { model };
  if (/^\d+$/.test(version)) {
    const n = Number(version);
    if (!Number.isSafeInteger(n) || n < 1 || n > 0xffffffff) throw invalidArgument(`model version "${version}" is out of range; versions start at 1`);
    return { model, version: n };
  }
  return { model, alias: version };
}
