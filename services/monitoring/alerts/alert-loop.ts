import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { EventBus } from "../../../libs/events/index.js";
import { AlertChangedSchema, AlertState, type AlertChanged } from "../../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import type { Logger } from "../../../libs/log/index.js";
import { AlertEvaluator, type AlertChange, type Sample } from "./alert-evaluator.js";
import type { AlertHub } from "./alert-hub.js";
import type { AlertRule } from "./alert-rules.js";

export const ALERT_FIRING_SUBJECT = "tessera.monitoring.alert.firing";
export const ALERT_RESOLVED_SUBJECT = "tessera.monitoring.alert.resolved";

const STATES = { pending: AlertState.PENDING, firing: AlertState.FIRING, resolved: AlertState.RESOLVED };

/**
 * Evaluates the rules over fresh samples, keeps the hub current (WatchAlerts)
 * and publishes firing and resolved alerts on NATS. Pending ones stay local:
 * subscribers care about alerts, not about conditions that may pass.
 */
export class AlertLoop {
  private readonly evaluator: AlertEvaluator;

  constructor(
    rules: readonly AlertRule[],
    private readonly deps: { hub: AlertHub; events: EventBus; samples: () => Promise<Sample[]>; logger: Logger; now?: () => number },
  ) {
    this.evaluator = new AlertEvaluator(rules);
  }

  async run(): Promise<AlertChanged[]> {
    const now = (this.deps.now ?? Date.now)();
    const changes = this.evaluator.evaluate(await this.deps.samples(), now);
    const messages = changes.map((c) => toMessage(c, now));
    for (const [i, change] of changes.entries()) {
      const message = messages[i]!;
      this.deps.hub.publish(message, change.key);
      if (change.state === "pending") continue;
      this.deps.logger.warn(`alert ${change.state}`, { rule: change.rule.name, labels: change.labels, value: change.value });
      await this.deps.events
        .publish(change.state === "firing" ? ALERT_FIRING_SUBJECT : ALERT_RESOLVED_SUBJECT, AlertChangedSchema, message, { source: "tessera/monitoring" })
        .catch((error: unknown) => this.deps.logger.warn("could not publish an alert", { rule: change.rule.name, error }));
    }
    return messages;
  }
}

function toMessage(change: AlertChange, nowMs: number): AlertChanged {
  return create(AlertChangedSchema, {
    rule: change.rule.name,
    state: STATES[change.state],
    labels: change.labels,
    value: change.value,
    threshold: change.rule.threshold,
    summary: change.rule.summary,
    activeSince: timestampFromMs(change.activeSinceMs),
    time: timestampFromMs(nowMs),
    revision: BigInt(change.revision),
  });
}
