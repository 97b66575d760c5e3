// @mailplatform/openstack: the mail platform on OpenStack, as Pulumi components.
export * from "./mail-platform";
export * from "./role-cluster";
export * from "./maildrop-cluster";
export * from "./cluster";
export * from "./component";
export * from "./network";
export * from "./security-groups";
export * from "./server-groups";
export * from "./secrets";
export * from "./config-push";
export * from "./dns";
export * from "./providers";
export * from "./settings";
export * from "./ssh-access";
export * from "./quotas";
export * from "./program";
export * from "./mail-platform-stack";
