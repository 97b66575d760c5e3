// Password hashes for Dovecot passwd-files, for the platform's own machine passwords (relay users).
// Deterministic, so re-rendering the same secrets changes no file; salted per user, so two users
// with the same password get different hashes. {SSHA512} is enough here: these passwords are long
// random strings from the stack's secret generator, where key stretching adds nothing.
import { createHash, createHmac } from "crypto";

const SALT_BYTES = 16;

/** `{SSHA512}` hash (base64 of SHA-512(password ‖ salt) ‖ salt) with a salt derived from user and password. */
export function machinePasswordHash(user: string, password: string): string {
  const salt = createHmac("sha256", password).update(`dovecot-salt:${user}`).digest().subarray(0, SALT_BYTES);
  const digest = createHash("sha512").update(password).update(salt).digest();
  return `{SSHA512}${Buffer.concat([digest, salt]).toString("base64")}`;
}
