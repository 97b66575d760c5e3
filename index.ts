// The stack program: the stack's config → the core's spec → MailPlatform. `pulumi up -s prod`.
import { mailPlatformProgram, readStackInputs } from "@mailplatform/openstack";

const platform = mailPlatformProgram(readStackInputs());

/** Service names, MX targets, public addresses, the internal CA, egress check. */
export const endpoints = platform.endpoints;
/** Every host: role, site, region, planned and public address, server id. */
export const inventory = platform.inventory;
/** Every DNS record the platform needs (name, type, ttl, value, scope, zone); not secret. */
export const dnsRecords = platform.dnsRecords;
/** Zone → BIND text of its public records, one file per zone (internal records: dnsRecords' scope internal). */
export const zoneFiles = platform.zoneFiles;
