import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { EventBus } from "../../libs/events/index.js";
import { EntityAppliedSchema, FeatureDeadLetterSchema, FeatureViewAppliedSchema } from "../../libs/gen/tessera/events/v1/feature_events_pb.js";
import type { Logger } from "../../libs/log/index.js";

/** Event subjects the feature service publishes on; payloads are tessera.events.v1 messages. */
export const featureSubjects = {
  entityApplied: "tessera.feature.entity.applied",
  viewApplied: "tessera.feature.view.applied",
  deadLetter: (view: string) => `tessera.feature.dead_letter.${view}`,
} as const;

/**
 * Publishes definition changes and dead letters. Like the registry's, an
 * event follows a write that stands, so a refused publish is logged, not
 * returned — except a dead letter, whose caller must know (the message
 * is then redelivered rather than lost).
 */
export class FeatureEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  entityApplied = (init: MessageInitShape<typeof EntityAppliedSchema>) => this.send(featureSubjects.entityApplied, EntityAppliedSchema, init);
  viewApplied = (init: MessageInitShape<typeof FeatureViewAppliedSchema>) => this.send(featureSubjects.viewApplied, FeatureViewAppliedSchema, init);

  /** Throws when NATS refuses it. */
  async deadLetter(init: MessageInitShape<typeof FeatureDeadLetterSchema>): Promise<void> {
    const message = create(FeatureDeadLetterSchema, init);
    await this.bus.publish(featureSubjects.deadLetter(message.view), FeatureDeadLetterSchema, message, { source: "tessera/feature" });
  }

  private async send<Desc extends DescMessage>(subject: string, schema: Desc, init: MessageInitShape<Desc>): Promise<void> {
    try {
      await this.bus.publish(subject, schema, create(schema, init), { source: "tessera/feature" });
    } catch (error) {
      this.logger.error("event not published", { subject, error });
    }
  }
}
