import { toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RolloutPhase, RolloutSchema, type Rollout } from "../../libs/gen/tessera/monitoring/v1/rollouts_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import type { CliIo } from "./cli-io.js";
import { addMonitoringOption, monitoringPeer } from "./monitoring-peer.js";
import { parseVersionNumber } from "./parse-count.js";
import { parseDuration } from "./parse-duration.js";
import { callPeer } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

type Client = ReturnType<typeof createMeshClient<typeof MonitoringService>>["client"];

const PHASES: Record<RolloutPhase, string> = {
  [RolloutPhase.UNSPECIFIED]: "?",
  [RolloutPhase.PROGRESSING]: "progressing",
  [RolloutPhase.PAUSED]: "paused",
  [RolloutPhase.PROMOTED]: "promoted",
  [RolloutPhase.ROLLED_BACK]: "rolled back",
  [RolloutPhase.ABORTED]: "aborted",
};

/** One line per rollout: "fraud  v1 → v2  progressing  25 % of [10,25,50,100]  (1 failed check: p99 ...)". */
export function formatRollout(r: Rollout): string {
  const checks = r.failedChecks > 0 ? `  ${r.failedChecks} failed check${r.failedChecks === 1 ? "" : "s"}` : "";
  const reason = r.reason !== "" ? `  (${r.reason})` : "";
  return `${r.model}  v${r.baseline} → v${r.candidate}  ${PHASES[r.phase]}  ${r.weight} % of [${r.steps.join(", ")}] every ${Number(r.stepIntervalMs) / 1000} s${checks}${reason}`;
}

function parsePercent(text: string): number {
  const n = Number(text);
  if (!(Number.isFinite(n) && n >= 0)) throw new UsageError(`"${text}" is not a number`);
  return n;
}

function parseSteps(text: string): number[] {
  const steps = text.split(",").map((s) => Number(s.trim()));
  if (steps.some((s) => !Number.isInteger(s))) throw new UsageError(`--steps: "${text}" is not a comma-separated list of whole percents, e.g. 10,25,50,100`);
  return steps;
}

/** `tessera rollout start|status|pause|resume|abort`. */
export function rolloutCommand(io: CliIo): Command {
  const run = (command: Command, call: (client: Client, args: string[], options: Record<string, unknown>) => Promise<Rollout[]>) => {
    addMonitoringOption(command);
    command.option("--json", "print the rollout(s) as JSON");
    return command.action(async (...all: unknown[]) => {
      const self = all.at(-1) as Command;
      const options = all.at(-2) as Record<string, unknown>;
      const args = all.slice(0, -2) as string[];
      const peer = monitoringPeer(self, io);
      const monitoring = createMeshClient(MonitoringService, { address: peer.address, meshToken: io.env.TESSERA_MESH_TOKEN || undefined });
      try {
        const rollouts = await callPeer(peer, () => call(monitoring.client, args, options));
        if (options.json) io.out(rollouts.map((r) => JSON.stringify(toJson(RolloutSchema, r))).join("\n") + "\n");
        else io.out(rollouts.length === 0 ? "no rollouts\n" : rollouts.map(formatRollout).join("\n") + "\n");
      } finally {
        monitoring.close();
      }
    });
  };
  const start = new Command("start")
    .description("move a model's traffic to a candidate version step by step, checking it at each step; promote or roll back by itself")
    .argument("<model>", "model name")
    .argument("<version>", "the candidate version", parseVersionNumber)
    .option("--steps <percents>", "candidate weights, ending at 100", parseSteps, [10, 25, 50, 100])
    .option("--interval <duration>", "how long each step runs before its check (90s, 5m)", "60s")
    .addOption(new Option("--min-success-rate <rate>", "share of requests without an error, at least").argParser(parsePercent).default(0.99))
    .addOption(new Option("--max-p99 <ms>", "the candidate's p99 latency in a step, at most, ms").argParser(parsePercent).default(500))
    .addOption(new Option("--min-requests <n>", "fewest candidate requests in a step for a verdict").argParser(parsePercent).default(20))
    .addOption(new Option("--threshold <n>", "failed checks in a row that roll back").argParser(parsePercent).default(2))
    .addOption(new Option("--inconclusive-limit <n>", "step intervals a check may wait beyond its own for --min-requests before it fails (a candidate nobody serves rolls back)").argParser(parsePercent).default(2))
    .option("--ignore-drift", "do not fail a check on a drift alarm for the candidate")
    .option("--alias <alias>", "the alias moved to the candidate on promotion", "production");
  run(start, async (client, [model, version], o) => {
    const { rollout } = await client.startRollout({
      model: model!,
      candidate: Number(version),
      steps: o.steps as number[],
      stepIntervalMs: BigInt(parseDuration(o.interval as string, "--interval")),
      analysis: {
        minSuccessRate: o.minSuccessRate as number,
        maxP99Ms: o.maxP99 as number,
        minRequests: o.minRequests as number,
        failureThreshold: o.threshold as number,
        inconclusiveLimit: o.inconclusiveLimit as number,
        ignoreDrift: o.ignoreDrift === true,
      },
      alias: o.alias as string,
    });
    return [rollout!];
  });
  const status = new Command("status").description("a model's rollout, or every rollout").argument("[model]", "model name");
  run(status, async (client, [model]) => (model ? [(await client.getRollout({ model })).rollout!] : (await client.listRollouts({})).rollouts));
  const pause = new Command("pause").description("hold a rollout at its current weight").argument("<model>", "model name");
  run(pause, async (client, [model]) => [(await client.pauseRollout({ model: model! })).rollout!]);
  const resume = new Command("resume").description("continue a paused rollout (its current weight is written again)").argument("<model>", "model name");
  run(resume, async (client, [model]) => [(await client.resumeRollout({ model: model! })).rollout!]);
  const abort = new Command("abort").description("send all traffic back to the baseline and end the rollout").argument("<model>", "model name");
  run(abort, async (client, [model]) => [(await client.abortRollout({ model: model! })).rollout!]);
  return new Command("rollout").description("progressive rollouts of a new model version").addCommand(start).addCommand(status).addCommand(pause).addCommand(resume).addCommand(abort);
}
