// @mailplatform/openstack: the mail platform on OpenStack, as Pulumi components.
export * from "./mail-platform";
export * from "./smtp-in-cluster";
export * from "./smtp-out-cluster";
export * from "./maildrop-cluster";
export * from "./frontend-cluster";
export * from "./webmail";
export * from "./cluster";
export * from "./network";
export * from "./security-groups";
export * from "./secrets";
export * from "./config-push";
export * from "./dns";
export * from "./providers";
export * from "./settings";
export * from "./program";
export * from "./mail-platform-stack";
