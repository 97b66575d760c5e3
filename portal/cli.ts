// npm run portal: serves the portal over HTTPS (PORTAL_PORT, default 8443) for a stack's target.
//   PORTAL_TARGET   lab (default: the local lab, which must be up) or pulumi (Automation API)
//   PORTAL_STACK    the stack (default staging); PORTAL_PROJECT_DIR: where Pulumi.<stack>.yaml is
//   PORTAL_STATE    the portal's state directory (default .portal/ in the repository)
//   PORTAL_TLS_CERT, PORTAL_TLS_KEY: the certificate (default for the lab: one from the lab's CA)
// npm run portal -- account <name> operator | domain-admin <domain>...: adds a staff account,
//   its password read from PORTAL_PASSWORD or standard input.
import * as fs from "fs";
import * as path from "path";
import { labSpecAndSecrets } from "../lab";
import { Accounts } from "./accounts";
import { buildPortal } from "./app";
import { hashPassword, passwordProblem } from "./passwords";
import { Target } from "./target";
import { LabTarget } from "./targets/lab";
import { PulumiTarget } from "./targets/pulumi";

const REPO = path.resolve(__dirname, "..");
const env = process.env;
const stack = env.PORTAL_STACK ?? "staging";
const projectDir = path.resolve(env.PORTAL_PROJECT_DIR ?? REPO);
const stateDir = path.resolve(env.PORTAL_STATE ?? path.join(REPO, ".portal"));

function target(): Target {
  const kind = env.PORTAL_TARGET ?? "lab";
  if (kind === "lab") return new LabTarget(stack, path.join(projectDir, `Pulumi.${stack}.yaml`));
  if (kind === "pulumi") return new PulumiTarget(stack, projectDir, stateDir);
  throw new Error(`PORTAL_TARGET must be lab or pulumi, not ${kind}`);
}

function tls(t: Target): { key: string; cert: string } {
  if (env.PORTAL_TLS_CERT && env.PORTAL_TLS_KEY) return { cert: fs.readFileSync(env.PORTAL_TLS_CERT, "utf8"), key: fs.readFileSync(env.PORTAL_TLS_KEY, "utf8") };
  if (t.kind !== "lab") throw new Error("set PORTAL_TLS_CERT and PORTAL_TLS_KEY (a certificate from the platform CA)");
  const { portal, platform } = labSpecAndSecrets(stack).secrets;
  return { cert: portal.certificatePem + platform.caCertificatePem, key: portal.privateKeyPem };
}

async function account(args: string[]): Promise<void> {
  const [name, role, ...domains] = args;
  if (!name || (role !== "operator" && role !== "domain-admin") || (role === "domain-admin" && domains.length === 0)) {
    throw new Error("usage: npm run portal -- account <name> operator | domain-admin <domain>...");
  }
  const password = env.PORTAL_PASSWORD ?? fs.readFileSync(0, "utf8").trim();
  const problem = passwordProblem(password);
  if (problem) throw new Error(`the password ${problem}`);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  new Accounts(path.join(stateDir, "accounts.json")).put({ name, role, domains: role === "operator" ? [] : domains, passwordHash: await hashPassword(password) });
  console.log(`portal: ${role} ${name} saved`);
}

async function serve(): Promise<void> {
  const t = target();
  const { app } = await buildPortal({ target: t, stateDir, https: tls(t) });
  const port = Number(env.PORTAL_PORT ?? 8443);
  await app.listen({ port, host: env.PORTAL_HOST ?? "127.0.0.1" });
  console.log(`portal: https://localhost:${port}/ (${t.kind} target, stack ${t.stack}, config ${t.configFile})`);
}

const [command, ...rest] = process.argv.slice(2);
(command === "account" ? account(rest) : serve()).catch((e: Error) => {
  console.error(`portal: ${e.message}`);
  process.exit(1);
});
