// What every component of this package does alike, after pulumi-awsx: its output properties are
// declared once (OUTPUTS), registered exactly (registerOutputs last), and a component constructed
// with an existing URN (opts.urn: rehydrating, as the SDK does for a resource reference) builds
// nothing: the SDK reads those properties back from the state, as Outputs of what was registered.
// Output fields are `declare`d, so no class field initializer overwrites what the SDK filled in.
import * as pulumi from "@pulumi/pulumi";

/** What a component hands its base class: its output names when rehydrating, else nothing. */
export function rehydrationProps(opts: pulumi.ComponentResourceOptions | undefined, outputs: readonly string[]): pulumi.Inputs {
  return opts?.urn ? Object.fromEntries(outputs.map((k) => [k, undefined])) : {};
}

/** The component's output properties, exactly, for registerOutputs. */
export function outputsOf<T extends object>(component: T, outputs: readonly (keyof T & string)[]): pulumi.Inputs {
  return Object.fromEntries(outputs.map((k) => [k, component[k]]));
}
