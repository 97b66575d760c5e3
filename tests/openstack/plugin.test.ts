// The plugin package: Pulumi's own analyzer must be able to turn MailPlatformStack into a schema
// (that is what `pulumi package add` runs), with the token the class registers under.
import * as assert from "node:assert/strict";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { ROOT } from "./helpers";

describe("plugin package", () => {
  it("exposes MailPlatformStack with language-neutral inputs and outputs", function () {
    this.timeout(120000);
    const dir = `${ROOT}/components/openstack/plugin`;
    const pkg = require(`${dir}/package.json`);
    const { components } = new Analyzer(dir, pkg.name, pkg, new Set(["MailPlatformStack"])).analyze();
    const c = components.MailPlatformStack;
    assert.equal(pkg.name, "mailplatform", "the package name is the schema name of mailplatform:index:*");
    assert.deepEqual(Object.keys(c.outputs).sort(), ["dnsRecords", "endpoints", "inventory", "zoneFile"]);
    assert.equal(c.inputs.config.plain, true, "the spec decides what exists, so it must be known when constructing");
    assert.ok(!c.inputs.sshPrivateKey.optional && !c.inputs.sshPrivateKey.plain);
  });
});
