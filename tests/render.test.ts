// The offline render shows where every secret goes without holding one: users' password hashes
// included, whether the stack file has them in clear (as the lab and the portal's lab target write
// them) or as Pulumi `secure:` values, which only the Pulumi CLI decrypts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { PASSWORD_HASH_MARKER } from "../components/core/src/secrets/masked";
import { REPO, renderStackOffline } from "../scripts/render";

/** Every file under dir, relative paths → content. */
function filesUnder(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const full = path.join(entry.parentPath ?? entry.path, entry.name);
      out.set(path.relative(dir, full), fs.readFileSync(full, "utf8"));
    }
  }
  return out;
}

describe("offline render: password hashes", function () {
  this.timeout(120_000);
  const hash = (i: number) => `{BLF-CRYPT}$2y$10$renderTestHash${i}abcdefghijklmnopqrstuvwxyz0123456789`;
  let project: string;
  let files: Map<string, string>;
  let users: { address: string }[];

  before(async () => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "render-hashes-"));
    const doc = YAML.parse(fs.readFileSync(path.join(REPO, "Pulumi.staging.yaml"), "utf8"));
    users = doc.config["mailplatform:users"];
    // The first user's hash in clear, the others as `pulumi config set --secret --path` writes them.
    doc.config["mailplatform:users"] = users.map((u, i) => ({ ...u, passwordHash: i === 0 ? hash(i) : { secure: `v1:bm9uY2U=:${Buffer.from(hash(i)).toString("base64")}` } }));
    fs.writeFileSync(path.join(project, "Pulumi.staging.yaml"), YAML.stringify(doc));
    await renderStackOffline("staging", path.join(project, "out"), project);
    files = filesUnder(path.join(project, "out"));
  });

  after(() => fs.rmSync(project, { recursive: true, force: true }));

  it("writes no hash, in clear or encrypted, into any file", () => {
    const leaks = [...files].filter(([, text]) => users.some((_, i) => text.includes(hash(i)) || text.includes(Buffer.from(hash(i)).toString("base64"))));
    assert.deepEqual(leaks.map(([f]) => f), []);
  });

  it("writes every user's passwd line with the marker where the hash goes (maildrops and smtp-out)", () => {
    // The passwd-files: every line user:hash:…, the first user's among them.
    const passwd = [...files].filter(([, text]) => text.split("\n").some((l) => l.startsWith(`${users[0].address}:`)));
    assert.deepEqual(new Set(passwd.map(([f]) => f.replace(/-[a-z]+\//, "-*/"))), new Set(["hosts/maildrop-*/etc/dovecot/users", "hosts/smtp-out-*/etc/dovecot/sasl-users"]));
    for (const [f, text] of passwd) {
      for (const u of users) assert.ok(text.split("\n").some((l) => l.startsWith(`${u.address}:${PASSWORD_HASH_MARKER}:`)), `${f}: ${u.address}`);
    }
  });
});
