import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { EventBus } from "../../libs/events/index.js";
import {
  AliasDeletedSchema,
  AliasMovedSchema,
  ModelCreatedSchema,
  ModelUpdatedSchema,
  ModelVersionCreatedSchema,
  ModelVersionUpdatedSchema,
  StageChangedSchema,
} from "../../libs/gen/tessera/events/v1/registry_events_pb.js";
import type { Logger } from "../../libs/log/index.js";

/** Event subjects the registry publishes on; payloads are tessera.events.v1 messages. */
export const registrySubjects = {
  modelCreated: "tessera.registry.model.created",
  modelUpdated: "tessera.registry.model.updated",
  versionCreated: "tessera.registry.model_version.created",
  versionUpdated: "tessera.registry.model_version.updated",
  stageChanged: "tessera.registry.model_version.stage_changed",
  aliasMoved: "tessera.registry.alias.moved",
  aliasDeleted: "tessera.registry.alias.deleted",
} as const;

/**
 * Publishes registry changes. An event is sent after its write succeeded;
 * if NATS refuses it the write still stands, so the failure is logged, not
 * returned to the caller (who would otherwise retry a write that happened).
 */
export class RegistryEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  modelCreated = (init: MessageInitShape<typeof ModelCreatedSchema>) => this.send(registrySubjects.modelCreated, ModelCreatedSchema, init);
  modelUpdated = (init: MessageInitShape<typeof ModelUpdatedSchema>) => this.send(registrySubjects.modelUpdated, ModelUpdatedSchema, init);
  versionCreated = (init: MessageInitShape<typeof ModelVersionCreatedSchema>) =>
    this.send(registrySubjects.versionCreated, ModelVersionCreatedSchema, init);
  versionUpdated = (init: MessageInitShape<typeof ModelVersionUpdatedSchema>) =>
    this.send(registrySubjects.versionUpdated, ModelVersionUpdatedSchema, init);
  stageChanged = (init: MessageInitShape<typeof StageChangedSchema>) => this.send(registrySubjects.stageChanged, StageChangedSchema, init);
  aliasMoved = (init: MessageInitShape<typeof AliasMovedSchema>) => this.send(registrySubjects.aliasMoved, AliasMovedSchema, init);
  aliasDeleted = (init: MessageInitShape<typeof AliasDeletedSchema>) => this.send(registrySubjects.aliasDeleted, AliasDeletedSchema, init);

  private async send<Desc extends DescMessage>(subject: string, schema: Desc, init: MessageInitShape<Desc>): Promise<void> {
    try {
      await this.bus.publish(subject, schema, create(schema, init), { source: "tessera/registry" });
    } catch (error) {
      this.logger.error("event not published", { subject, error });
    }
  }
}
