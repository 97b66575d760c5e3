// The portal's pages in Debian's Chromium (playwright-core) against the fake target, without the
// lab: sign-in, the validator's message next to the field it names with nothing written, a new
// mailbox, the preview and an apply streaming per-host progress, the operator's platform view, a mail
// user forwarding their mail and a domain administrator changing that forward.
// The same flows against the real lab: tests/portal-lab/. Screenshots: test-artifacts/portal/.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { chromium, Browser, Page } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS } from "../support/chromium";
import { readRaw } from "../../portal/stack-config";
import { PASSWORD, testPortal, TestPortal, USER, USER_PASSWORD } from "./support";

const ARTIFACTS = path.resolve(__dirname, "../../test-artifacts/portal");

describe("portal pages in Chromium (fake target)", function () {
  this.timeout(120_000);
  let portal: TestPortal;
  let browser: Browser;
  let page: Page;
  let url: string;
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const signIn = async (login: string, password = PASSWORD) => {
    await page.goto(url);
    await page.fill("#signin-form [name=login]", login);
    await page.fill("#signin-form [name=password]", password);
    await page.click("#signin-form button");
  };

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    portal = await testPortal({ delayMs: 150 });
    // The hosts run the stack's config already.
    await portal.target.apply(readRaw(portal.configFile), () => {});
    url = await portal.app.listen({ port: 0, host: "127.0.0.1" });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_FLAGS,
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await portal.runner.idle();
    await portal.app.close();
    fs.rmSync(portal.dir, { recursive: true, force: true });
  });

  it("shows the validator's message next to the field it names and writes nothing", async () => {
    await signIn("adam");
    await page.waitForSelector("#mailboxes tbody tr");
    const before = fs.readFileSync(portal.configFile, "utf8");
    await page.fill("#mailbox-form [name=address]", "Not Valid");
    await page.fill("#mailbox-form [name=password]", "long enough password");
    await page.fill("#mailbox-form [name=quota]", "lots");
    await page.click("#mailbox-form button");
    const address = page.locator('#mailbox-form .error[data-for="address"]');
    await address.waitFor();
    assert.match(await address.innerText(), /mailplatform:users\[\d+\]\.address: "Not Valid@staging.example.com" is not an e-mail address \(bad local part\)/);
    assert.match(await page.locator('#mailbox-form .error[data-for="quota"]').innerText(), /"lots" is not a size/);
    await shot("pages-invalid-input");
    assert.equal(fs.readFileSync(portal.configFile, "utf8"), before);
  });

  it("creates a mailbox, previews which hosts, files and services change, and applies with per-host progress", async () => {
    await page.fill("#mailbox-form [name=address]", "paula");
    await page.fill("#mailbox-form [name=password]", "long enough password");
    await page.fill("#mailbox-form [name=quota]", "");
    await page.click("#mailbox-form button");
    await page.waitForSelector('#mailboxes td:text-is("paula@staging.example.com")');
    await shot("pages-domain");
    await page.click("#preview");
    await page.waitForSelector(".host-change");
    assert.match(await page.locator("#changeset").innerText(), /maildrop-zrh \(maildrop\): reloads dovecot \(reload\), postfix \(reload\)\s+changed: \/etc\/dovecot\/users/);
    await shot("pages-preview");
    await page.click("#apply");
    await page.waitForSelector("#progress .state-pushing");
    await page.waitForSelector("#apply-result.state-ok");
    assert.equal(await page.locator("#progress .state-applied").count(), (await page.locator("#progress tbody tr").count()));
    await shot("pages-applied");
  });

  it("shows operators the platform: hosts, the last applies and the audit log", async () => {
    await page.click("#signout");
    await signIn("olga");
    await page.waitForSelector("#applies tbody tr");
    assert.match(await page.locator("#applies").innerText(), /adam\s+ok/);
    assert.match(await page.locator("#audit").innerText(), /adam\s+create mailbox\s+paula@staging.example.com\s+ok/);
    await shot("pages-operator");
  });

  it("lets a mail user forward their mail: the validator's message on the field, then saved, applied and shown", async () => {
    await page.click("#signout");
    await signIn(USER, USER_PASSWORD);
    const form = page.locator("#forward-form");
    await form.locator("[name=forwardTo]").waitFor();
    assert.equal(await form.locator("[name=keepCopy]").isChecked(), true);
    const before = fs.readFileSync(portal.configFile, "utf8");
    await form.locator("[name=forwardTo]").fill(USER);
    await form.locator("button").click();
    const error = form.locator('.error[data-for="forwardTo"]');
    await error.waitFor();
    assert.match(await error.innerText(), /forwardTo\[0\]: "dora@staging.example.com" is the mailbox itself/);
    assert.equal(fs.readFileSync(portal.configFile, "utf8"), before);

    await form.locator("[name=forwardTo]").fill("dora@partner.example");
    await form.locator("[name=keepCopy]").uncheck();
    await form.locator("button").click();
    await page.waitForSelector("#forward-form .ok:text-matches('applied')");
    assert.equal(await error.innerText(), "");
    await portal.runner.idle();
    assert.deepEqual(portal.target.spec(readRaw(portal.configFile)).users.find((u) => u.address === USER)?.forward, { to: ["dora@partner.example"], keepCopy: false });
    assert.equal(portal.runner.recent()[0].who, USER);
    // What the page shows after a reload is what the server holds.
    await page.reload();
    // Polled from here: Playwright evals a string predicate in the page, which the page's CSP refuses.
    const field = form.locator("[name=forwardTo]");
    for (const until = Date.now() + 10_000; (await field.inputValue()) !== "dora@partner.example" && Date.now() < until;) await page.waitForTimeout(100);
    assert.equal(await field.inputValue(), "dora@partner.example", "the reloaded page shows the saved forward");
    assert.equal(await form.locator("[name=keepCopy]").isChecked(), false);
    await shot("pages-user-forwards");
  });

  it("shows domain administrators their users' forwards and lets them change them", async () => {
    await page.click("#signout");
    await signIn("adam");
    const row = page.locator("#mailboxes tr", { hasText: USER });
    await row.waitFor();
    assert.match(await row.innerText(), /dora@partner\.example \(forward only\)/);
    await row.locator("button", { hasText: "Forwards" }).click();
    const form = page.locator("#mailbox-forward-form");
    assert.equal(await form.locator("[name=forwardTo]").inputValue(), "dora@partner.example");
    await form.locator("[name=keepCopy]").check();
    await form.locator("button").click();
    await page.waitForSelector(`#mailboxes tr:has-text("${USER}"):has-text("(keeps a copy)")`);
    assert.equal(await form.isHidden(), true);
    assert.deepEqual(portal.target.spec(readRaw(portal.configFile)).users.find((u) => u.address === USER)?.forward, { to: ["dora@partner.example"], keepCopy: true });
    await shot("pages-domain-forwards");
  });

  it("lets a domain administrator publish a DKIM selector, refuses its activation until DNS shows it, and previews its records", async () => {
    await page.waitForSelector("#selectors li");
    assert.match(await page.locator("#selectors").innerText(), /s1: active\s+\(the platform's selectors/);
    const step = async (name: string, selector: string) => {
      await page.selectOption("#dkim-form [name=step]", name);
      await page.fill("#dkim-form [name=selector]", selector);
      await page.click("#dkim-form button");
    };
    await step("publish", "Bad Name");
    const nameError = page.locator('#dkim-form .error[data-for="name"]');
    await nameError.waitFor();
    assert.match(await nameError.innerText(), /mailplatform:domains\[0\]\.dkim\.selectors\[1\]\.name: "Bad Name" must be lower case letters, digits and -/);
    await step("publish", "s2");
    await page.waitForSelector('#selectors li:text-is("s2: published")');
    await step("activate", "s2");
    const refusal = page.locator('#dkim-form .error[data-for=""]:not(:empty)');
    await refusal.waitFor();
    assert.match(await refusal.innerText(), /DNS does not show selector s2 of staging.example.com yet/);
    await page.click("#preview");
    await page.waitForSelector(".dns-change");
    assert.match(await page.locator("#changeset .dns-change").innerText(), /added: s2-rsa._domainkey.staging.example.com TXT\s+added: s2-ed25519._domainkey.staging.example.com TXT/);
    assert.equal(await page.locator("#apply").isDisabled(), false);
    await shot("pages-dkim");
  });
});
