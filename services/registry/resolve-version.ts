import { invalidArgument, notFound } from "../../libs/errors/index.js";
import type { Model, VersionSelector } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { checkAliasSelector, checkModelName } from "./names.js";

/** The version number a selector names on this model: by number, by alias, or the latest. */
export function resolveVersionNumber(model: Model, selector: VersionSelector): number {
  switch (selector.selector.case) {
    case "version":
      if (selector.selector.value < 1) throw invalidArgument("version must be 1 or more");
      return selector.selector.value;
    case "alias": {
      const alias = selector.selector.value;
      // Own properties only: "constructor" or "__proto__" must not find Object.prototype's.
      const version = alias === "latest" ? model.latestVersion : Object.hasOwn(model.aliases, alias) ? model.aliases[alias] : undefined;
      if (!version) {
        const known = Object.keys(model.aliases).sort();
        throw notFound(`model "${model.name}" has no alias "${alias}"; its aliases are: ${known.length > 0 ? known.join(", ") : "(none)"}`);
      }
      return version;
    }
    default:
      if (model.latestVersion === 0) throw notFound(`model "${model.name}" has no versions yet; upload one first`);
      return model.latestVersion;
  }
}

export function checkSelector(selector: VersionSelector | undefined): VersionSelector {
  if (!selector) throw invalidArgument("version is required: {model, version | alias}");
  checkModelName(selector.model, "version.model");
  if (selector.selector.case === "alias") checkAliasSelector(selector.selector.value);
  return selector;
}

/** The version `alias` points at on this model, 0 when none; own properties only, so "constructor" is just a name. */
export function aliasVersion(model: Model, alias: string): number {
  return Object.hasOwn(model.aliases, alias) ? (model.aliases[alias] ?? 0) : 0;
}
