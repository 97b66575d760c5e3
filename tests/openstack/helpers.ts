// Queries over a mock run's recorded resources, shared by the OpenStack tests.
import { loadStackSpec, PlatformSpec } from "../../components/core/src";
import { MockRun, RecordedResource, runUnderMocks, unwrapSecrets } from "../../scripts/resources";

export const ROOT = `${__dirname}/../..`;

const runs = new Map<string, Promise<{ spec: PlatformSpec; run: MockRun }>>();

/** One mock run per stack, shared by every test file (a run takes a few seconds). */
export function stackRun(stack: string): Promise<{ spec: PlatformSpec; run: MockRun }> {
  if (!runs.has(stack)) {
    const spec = loadStackSpec(ROOT, stack);
    runs.set(stack, runUnderMocks(spec).then((run) => ({ spec, run })));
  }
  return runs.get(stack)!;
}

export const ofType = (run: MockRun, type: string) => run.resources.filter((r) => r.type === type);
export const byName = (run: MockRun, name: string) => {
  const r = run.resources.find((x) => x.name === name);
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
export const byId = (run: MockRun, id: unknown) => run.resources.find((r) => r.id === id);
/** Inputs with secrets unwrapped. */
export const plain = (r: RecordedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
export const nameOf = (urn: string) => urn.split("::").pop()!;
export const dependsOn = (r: RecordedResource) => r.dependencies.map(nameOf);

export const T = {
  instance: "openstack:compute/instance:Instance",
  serverGroup: "openstack:compute/serverGroup:ServerGroup",
  port: "openstack:networking/port:Port",
  fip: "openstack:networking/floatingIp:FloatingIp",
  secGroup: "openstack:networking/secGroup:SecGroup",
  rule: "openstack:networking/secGroupRule:SecGroupRule",
  volume: "openstack:blockstorage/volume:Volume",
  attach: "openstack:compute/volumeAttach:VolumeAttach",
  share: "openstack:sharedfilesystem/share:Share",
  shareAccess: "openstack:sharedfilesystem/shareAccess:ShareAccess",
  command: "command:remote:Command",
  recordSet: "openstack:dns/recordSet:RecordSet",
  provider: "pulumi:providers:openstack",
  password: "random:index/randomPassword:RandomPassword",
  privateKey: "tls:index/privateKey:PrivateKey",
};
