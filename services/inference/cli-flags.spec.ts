import { describe, expect, it } from "vitest";
import { envWithFlags } from "./cli-flags.js";
import { readInferenceConfig } from "./config.js";

describe("envWithFlags()", () => {
  it("maps flags onto the environment keys, flags winning", () => {
    const env = envWithFlags(["--device", "cuda:1", "--allow-cpu-fallback", "--serve", "fraud@production"], { TESSERA_DEVICE: "cpu" });
    expect(readInferenceConfig(env)).toMatchObject({ device: { kind: "cuda", index: 1 }, allowCpuFallback: true, serve: [{ model: "fraud", alias: "production" }] });
  });

  it("takes --frontend-loops as TESSERA_FRONTEND_LOOPS", () => {
    expect(readInferenceConfig(envWithFlags(["--frontend-loops", "2"], { TESSERA_FRONTEND_LOOPS: "4" })).frontendLoops).toBe(2);
  });

  it("takes --session-placement as TESSERA_SESSION_PLACEMENT, and refuses a value that is not one", () => {
    expect(readInferenceConfig(envWithFlags(["--session-placement", "event-loop"], { TESSERA_SESSION_PLACEMENT: "thread" })).sessionPlacement).toBe("event-loop");
    expect(() => readInferenceConfig(envWithFlags(["--session-placement", "loop"], {}))).toThrow(/TESSERA_SESSION_PLACEMENT: expected one of auto, thread, event-loop, got "loop"/);
  });

  it("refuses an unknown flag", () => {
    expect(() => envWithFlags(["--gpu", "0"], {})).toThrow(/--gpu/);
  });
});
