// A portal on a copy of the staging stack config with the fake target, and a signed-in client
// (cookie and CSRF token) over Fastify's inject: the API as the pages use it, without a browser.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildPortal, Portal } from "../../portal/app";
import { hashPassword } from "../../portal/passwords";
import { readRaw, writeRaw } from "../../portal/stack-config";
import { FakeTarget } from "./fake-target";

const REPO = path.resolve(__dirname, "../..");
export const PASSWORD = "correct horse battery";
export const USER = "dora@staging.example.com";
export const USER_PASSWORD = "dora's mail password";

export interface TestPortal extends Portal {
  dir: string;
  configFile: string;
  target: FakeTarget;
  client(login: string, password?: string): Promise<Client>;
}

export interface Client {
  csrf: string;
  request(method: string, url: string, body?: unknown, opts?: { csrf?: boolean }): Promise<{ status: number; json: any; headers: Record<string, unknown> }>;
}

export async function testPortal(opts: { delayMs?: number; signInLimit?: number } = {}): Promise<TestPortal> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "portal-test-"));
  const configFile = path.join(dir, "Pulumi.staging.yaml");
  fs.copyFileSync(path.join(REPO, "Pulumi.staging.yaml"), configFile);
  // A mail user whose password the test knows.
  const raw = readRaw(configFile);
  writeRaw(configFile, { ...raw, users: [...(raw.users as object[]), { address: USER, passwordHash: await hashPassword(USER_PASSWORD) }] });
  const target = new FakeTarget("staging", configFile, path.join(dir, "hosts"), opts.delayMs);
  const portal = await buildPortal({ target, stateDir: path.join(dir, "state"), signInLimit: opts.signInLimit ?? 50 });
  const hash = await hashPassword(PASSWORD);
  portal.accounts.put({ name: "olga", role: "operator", domains: [], passwordHash: hash });
  portal.accounts.put({ name: "adam", role: "domain-admin", domains: ["staging.example.com"], passwordHash: hash });
  portal.accounts.put({ name: "oscar", role: "domain-admin", domains: ["staging.example.org"], passwordHash: hash });

  const client = async (login: string, password = PASSWORD): Promise<Client> => {
    let cookie = "";
    const request: Client["request"] = async (method, url, body, o = {}) => {
      const res = await portal.app.inject({
        method: method as "GET",
        url,
        headers: { cookie, ...(o.csrf !== false && c.csrf ? { "x-csrf-token": c.csrf } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      const set = res.headers["set-cookie"];
      for (const line of ([] as string[]).concat(set ?? [])) {
        const pair = line.split(";")[0];
        if (pair.startsWith("portal-session=")) cookie = pair;
      }
      return { status: res.statusCode, json: res.headers["content-type"]?.toString().includes("json") ? res.json() : res.body, headers: res.headers };
    };
    const c: Client = { csrf: "", request };
    const signedIn = await request("POST", "/api/session", { login, password });
    if (signedIn.status !== 200) throw new Error(`sign-in of ${login}: ${signedIn.status} ${JSON.stringify(signedIn.json)}`);
    c.csrf = signedIn.json.csrfToken;
    return c;
  };
  return { ...portal, dir, configFile, target, client };
}
