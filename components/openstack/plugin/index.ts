// Entry point of the source-based plugin package: the components other languages can use.
export { MailPlatformStack } from "../src/mail-platform-stack";
