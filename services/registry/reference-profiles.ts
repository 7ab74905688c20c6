import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { invalidArgument, notFound } from "../../libs/errors/index.js";
import { ReferenceProfileSchema } from "../../libs/gen/tessera/registry/v1/profile_pb.js";
import type { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { checkProfile } from "../../libs/profiles/index.js";
import { checkModelName, checkVersionNumber } from "./names.js";
import type { RegistryStore } from "./registry-store.js";
import { checkSelector, resolveVersionNumber } from "./resolve-version.js";

/**
 * Where a version's reference profile lives: in the artifact object store
 * rather than the metadata KV, because a profile of many features (up to
 * 1,000 kept values each) can outgrow a KV entry.
 */
export function profileObjectName(model: string, version: number): string {
  return `profiles/${model}/${version}`;
}

type ProfileMethods = Pick<ServiceImpl<typeof RegistryService>, "setReferenceProfile" | "getReferenceProfile">;

/** SetReferenceProfile and GetReferenceProfile. */
export function referenceProfileMethods(store: RegistryStore): ProfileMethods {
  return {
    async setReferenceProfile(request) {
      checkModelName(request.model);
      checkVersionNumber(request.version);
      if (!request.profile) throw invalidArgument("profile is required; build one with `tessera profile <model> <version> --from data.csv`");
      const { value: version } = await store.getVersion(request.model, request.version);
      checkProfile(request.profile, version.signature, `${request.model} version ${request.version}`);
      await store.objects.put(profileObjectName(request.model, request.version), toBinary(ReferenceProfileSchema, request.profile));
      return { profile: request.profile };
    },

    async getReferenceProfile(request) {
      const selector = checkSelector(request.version);
      const model = (await store.getModel(selector.model)).value;
      const version = resolveVersionNumber(model, selector);
      await store.getVersion(model.name, version);
      const chunks = await store.objects.get(profileObjectName(model.name, version));
      if (!chunks) {
        throw notFound(`${model.name} version ${version} has no reference profile; build one with \`tessera profile ${model.name} ${version} --from data.csv\``);
      }
      const parts: Uint8Array[] = [];
      for await (const chunk of chunks) parts.push(chunk);
      return { model: model.name, version, profile: fromBinary(ReferenceProfileSchema, Buffer.concat(parts)) };
    },
  };
}
