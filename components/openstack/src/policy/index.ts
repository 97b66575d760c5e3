// The CrossGuard pack: `pulumi preview --policy-pack components/openstack/src/policy`.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("mailplatform-security", { policies: POLICIES });
