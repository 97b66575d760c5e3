// The program against the rules of an ordinary OpenStack project (non-admin-cloud.ts): prod and
// staging build with nothing refused and every push reaching its host, the quota needs the preview
// reports are what the cloud counts, and each rule does refuse what it is there for.
import * as assert from "node:assert/strict";
import { loadStackSpec, parseSpec } from "../../components/core/src";
import { readStackConfig } from "../../components/core/src/spec/load";
import { quotaNeeds } from "../../components/openstack/src";
import { CloudRequest, mockNetworkId, runUnderMocks, unwrapSecrets } from "../../scripts/resources";
import { ROOT, T } from "./helpers";
import { CloudOptions, NonAdminCloud } from "./non-admin-cloud";

/** A stock cloud: the deploying machine inside the stacks' adminNetworks, Nova zones apart from Cinder's. */
const OPTIONS: CloudOptions = { deployer: "192.0.2.140", externalNetworks: ["public"], novaZones: ["nova", "az1"], cinderZones: ["nova"] };

const request = (type: string, name: string, inputs: Record<string, any>, state: Record<string, any> = {}): CloudRequest =>
  ({ type, name, region: "r1", inputs, id: `${name}-id`, state });

describe("OpenStack: an ordinary project's rules", () => {
  for (const stack of ["prod", "staging"]) {
    it(`builds ${stack} with nothing refused, within the reported quota needs, every push reaching its host`, async () => {
      const cloud = new NonAdminCloud(OPTIONS);
      const spec = loadStackSpec(ROOT, stack);
      const run = await runUnderMocks(spec, {}, cloud.receive);
      cloud.finish();
      assert.deepEqual(cloud.refusals, []);
      // Every remote command went through the reachability check, so each host is reached.
      assert.ok(run.resources.filter((r) => r.type === T.command).length >= 3 * run.resources.filter((r) => r.type === T.instance).length);
      const needs = quotaNeeds(spec);
      for (const [region, used] of Object.entries(cloud.usage())) {
        assert.deepEqual([used.securityGroups, used.securityGroupRules, used.instances, used.serverGroups, used.serverGroupMembers, used.floatingIps, used.volumes, used.gigabytes],
          [needs[region].securityGroups, needs[region].securityGroupRules, needs[region].instances, needs[region].serverGroups, needs[region].serverGroupMembers, needs[region].floatingIps, needs[region].volumes, needs[region].volumeGigabytes], region);
      }
    });
  }

  it("does not fit prod and staging into one project per region: the security group rule quota", async () => {
    const cloud = new NonAdminCloud(OPTIONS);
    await runUnderMocks(loadStackSpec(ROOT, "prod"), {}, cloud.receive);
    await assert.rejects(runUnderMocks(loadStackSpec(ROOT, "staging"), {}, cloud.receive), /quota exceeded: securityGroupRules 101 > 100/);
  });

  it("refuses prod's volumes in a Nova zone, which Cinder does not have", async () => {
    const raw = readStackConfig(`${ROOT}/Pulumi.prod.yaml`);
    const sites = (raw.sites as Record<string, unknown>[]).map(({ volumeAvailabilityZone: _, ...s }) => ({ ...s, volumeAvailabilityZone: s.availabilityZone }));
    const cloud = new NonAdminCloud(OPTIONS);
    await assert.rejects(runUnderMocks(parseSpec({ ...raw, sites }, "prod"), {}, cloud.receive), /Cinder has no availability zone az1/);
  });

  it("refuses pushes from a machine outside the admin networks", async () => {
    const cloud = new NonAdminCloud({ ...OPTIONS, deployer: "203.0.113.5" });
    await assert.rejects(runUnderMocks(loadStackSpec(ROOT, "staging"), {}, cloud.receive), /not allowed from the deploying machine \(203\.0\.113\.5\)/);
  });

  it("refuses a push to a host off the jump host's network, and one that does not pin the host key", async () => {
    const cloud = new NonAdminCloud(OPTIONS);
    const run = await runUnderMocks(loadStackSpec(ROOT, "staging"), {}, cloud.receive);
    const connection = (host: string) => unwrapSecrets(run.resources.find((r) => r.name === `mailplatform-smtp-out-push-${host}-apply`)!.inputs.connection) as Record<string, any>;
    const zrh = connection("smtp-out-zrh");
    const ams = connection("smtp-out-ams");
    const push = (c: Record<string, any>) => cloud.receive(request(T.command, "push", { connection: c }));
    assert.throws(() => push({ ...ams, proxy: zrh.proxy }), /10\.30\.2\.21 is not on the jump host .*'s network/);
    assert.throws(() => push({ ...zrh, hostKey: undefined }), /host key is not pinned/);
    assert.throws(() => push({ ...zrh, proxy: { ...zrh.proxy, hostKey: ams.proxy.hostKey } }), /host key is not pinned .*mismatch/);
    assert.throws(() => push({ ...zrh, proxy: undefined }), /10\.30\.1\.21 is not a floating IP/);
    push(zrh);
  });

  it("gives a region with a single VM no server group, and the others one holding all their VMs", async () => {
    const raw = readStackConfig(`${ROOT}/Pulumi.staging.yaml`);
    const lil = { name: "lil", region: "fr-lil-1", cidr: "10.30.3.0/24", egress: ["198.51.100.130"] };
    const spec = parseSpec({ ...raw, sites: [...(raw.sites as object[]), lil], placement: { smtpIn: ["zrh", "ams", "lil"], smtpOut: ["zrh", "ams"], frontend: ["zrh", "ams"], webmail: ["ams"] } }, "staging");
    const cloud = new NonAdminCloud(OPTIONS);
    const run = await runUnderMocks(spec, {}, cloud.receive);
    cloud.finish();
    assert.deepEqual(cloud.refusals, []);
    const lone = run.resources.find((r) => r.type === T.instance && r.name === "mailplatform-smtp-in-lil")!;
    assert.equal((unwrapSecrets(lone.inputs) as Record<string, unknown>).schedulerHints, undefined);
    assert.deepEqual(Object.fromEntries(Object.entries(cloud.usage()).map(([region, u]) => [region, [u.serverGroups, u.serverGroupMembers]])),
      Object.fromEntries(Object.entries(quotaNeeds(spec)).map(([region, n]) => [region, [n.serverGroups, n.serverGroupMembers]])));
    assert.equal(quotaNeeds(spec)["fr-lil-1"].serverGroups, 0);
  });

  it("refuses a server group no two instances joined", () => {
    const cloud = new NonAdminCloud(OPTIONS);
    const add = (type: string, name: string, inputs: Record<string, any>) => cloud.receive(request(`openstack:${type}`, name, inputs));
    add("networking/network:Network", "net", {});
    add("networking/subnet:Subnet", "sub", { networkId: "net-id", cidr: "10.9.0.0/24" });
    const vm = (n: number, group: string) => {
      add("networking/port:Port", `port${n}`, { networkId: "net-id", fixedIps: [{ subnetId: "sub-id", ipAddress: `10.9.0.${n}` }] });
      add("compute/instance:Instance", `vm${n}`, { networks: [{ port: `port${n}-id` }], schedulerHints: [{ group }] });
    };
    add("compute/serverGroup:ServerGroup", "spread", { policies: ["soft-anti-affinity"] });
    add("compute/serverGroup:ServerGroup", "lone", { policies: ["soft-anti-affinity"] });
    vm(11, "spread-id");
    vm(12, "spread-id");
    vm(13, "lone-id");
    assert.throws(() => cloud.finish(), /lone: server group in r1 with 1 member\(s\)/);
    assert.deepEqual(cloud.refusals.filter((r) => r.includes("spread")), []);
    vm(14, "lone-id");
    cloud.refusals.length = 0;
    cloud.finish();
  });

  it("refuses the admin-only fields of routers, networks and floating IPs", () => {
    const cloud = new NonAdminCloud(OPTIONS);
    const ext = mockNetworkId("public");
    for (const enableSnat of [true, false]) {
      assert.throws(() => cloud.receive(request("openstack:networking/router:Router", "r", { externalNetworkId: ext, enableSnat })), /enableSnat: admin only/);
    }
    assert.throws(() => cloud.receive(request("openstack:networking/router:Router", "r", { externalNetworkId: ext, externalFixedIps: [{ ipAddress: "198.51.100.10" }] })), /externalFixedIps: admin only/);
    assert.throws(() => cloud.receive(request("openstack:networking/network:Network", "n", { external: true })), /external: admin only/);
    assert.throws(() => cloud.receive(request("openstack:networking/floatingIp:FloatingIp", "f", { pool: "public", address: "198.51.100.10" })), /address: admin only/);
    cloud.receive(request("openstack:networking/router:Router", "r", { externalNetworkId: ext }));
  });

  it("refuses a floating IP on a port whose subnet has no router gateway yet, and a share without a share network", () => {
    const cloud = new NonAdminCloud(OPTIONS);
    const add = (type: string, name: string, inputs: Record<string, any>, state?: Record<string, any>) => cloud.receive(request(`openstack:${type}`, name, inputs, state));
    add("networking/network:Network", "net", {});
    add("networking/subnet:Subnet", "sub", { networkId: "net-id", cidr: "10.9.0.0/24" });
    add("networking/port:Port", "port", { networkId: "net-id", fixedIps: [{ subnetId: "sub-id", ipAddress: "10.9.0.11" }] });
    add("networking/router:Router", "router", { externalNetworkId: mockNetworkId("public") });
    const fip = () => add("networking/floatingIp:FloatingIp", "fip", { pool: "public", portId: "port-id" }, { address: "198.18.0.1" });
    assert.throws(fip, /External network network-public is not reachable from subnet sub-id/);
    add("networking/routerInterface:RouterInterface", "router-if", { routerId: "router-id", subnetId: "sub-id" });
    fip();
    assert.throws(() => add("networking/port:Port", "stray", { networkId: "net-id", fixedIps: [{ subnetId: "sub-id", ipAddress: "10.8.0.11" }] }), /not in a subnet/);
    assert.throws(() => add("sharedfilesystem/share:Share", "share", { shareProto: "NFS", size: 1 }), /a share network is required/);
  });
});
