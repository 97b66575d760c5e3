// Entry point of the source-based plugin package (PulumiPlugin.yaml): the components other
// languages can use, from the built package beside it, so it works wherever the package is installed.
export { MailPlatformStack } from "../dist/mail-platform-stack";
