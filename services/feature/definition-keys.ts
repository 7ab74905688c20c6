/** KV keys of the feature definitions: `entities.<name>`, `views.<name>`, `view_versions.<name>.<n>`. */
export const ENTITY_PREFIX = "entities.";
export const VIEW_PREFIX = "views.";

export const entityKey = (name: string) => `${ENTITY_PREFIX}${name}`;
export const viewKey = (name: string) => `${VIEW_PREFIX}${name}`;
export const viewVersionPrefix = (name: string) => `view_versions.${name}.`;
export const viewVersionKey = (name: string, version: number) => `${viewVersionPrefix(name)}${version}`;
