// @mailplatform/core: the platform's spec, its validation, and the renderers. No cloud, no Pulumi.
export * from "./spec/types";
export * from "./spec/syntax";
export { SpecError } from "./spec/reader";
export { parseSpec, NAMESPACE, TOP_LEVEL_KEYS, ROLE_KEYS, WEBMAIL_RELAY_USER } from "./spec/validate";
export { loadStackSpec, readStackConfig } from "./spec/load";
export * from "./topology";
export * from "./files";
export * from "./secrets";
export { maskedSecrets } from "./secrets/masked";
export { renderHost, renderPlatform, RenderContext } from "./render";
export { writeBundle, packBundle, manifest } from "./bundle";
