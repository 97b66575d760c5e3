// Password hashes for the platform's own machine passwords: Dovecot passwd-files (relay users) and
// Rspamd's controller.
// Deterministic, so re-rendering the same secrets changes no file; salted per user, so two users
// with the same password get different hashes. {SSHA512} is enough here: these passwords are long
// random strings from the stack's secret generator, where key stretching adds nothing.
import { blake2b } from "@noble/hashes/blake2b";
import { createHash, createHmac } from "crypto";

const SALT_BYTES = 16;

/** `{SSHA512}` hash (base64 of SHA-512(password ‖ salt) ‖ salt) with a salt derived from user and password. */
export function machinePasswordHash(user: string, password: string): string {
  const salt = createHmac("sha256", password).update(`dovecot-salt:${user}`).digest().subarray(0, SALT_BYTES);
  const digest = createHash("sha512").update(password).update(salt).digest();
  return `{SSHA512}${Buffer.concat([digest, salt]).toString("base64")}`;
}

/** Rspamd's PBKDF2-blake2b (`rspamadm pw -t pbkdf2`, id 1): its rounds, salt and key sizes are fixed by the id. */
const RSPAMD_PBKDF2 = { id: 1, rounds: 16000, saltBytes: 20, keyBytes: 32 };
const BLAKE2B_KEY_BYTES = 64;
const rspamdHashes = new Map<string, string>();

/**
 * A Rspamd controller password hash, as `rspamadm pw -t pbkdf2` makes and the controller checks:
 * PBKDF2 with BLAKE2b-512 keyed by the password as its PRF, salt and key in Rspamd's z-base-32.
 * The salt is derived from name and password, as above; memoised, since 16000 rounds take a while.
 */
export function rspamdPasswordHash(name: string, password: string): string {
  const memo = `${name}\0${password}`;
  const known = rspamdHashes.get(memo);
  if (known) return known;
  const key = Buffer.from(password, "utf8");
  // Rspamd hashes a longer password first; the platform's are 32 characters.
  if (key.length > BLAKE2B_KEY_BYTES) throw new Error(`Rspamd password for ${name}: longer than ${BLAKE2B_KEY_BYTES} bytes`);
  const salt = createHmac("sha256", password).update(`rspamd-salt:${name}`).digest().subarray(0, RSPAMD_PBKDF2.saltBytes);
  // One PBKDF2 block (the key is shorter than BLAKE2b's output): U1 = PRF(salt ‖ INT(1)), Ui = PRF(Ui-1).
  let u = blake2b(Buffer.concat([salt, Buffer.from([0, 0, 0, 1])]), { key });
  const out = Uint8Array.from(u);
  for (let i = 1; i < RSPAMD_PBKDF2.rounds; i++) {
    u = blake2b(u, { key });
    for (let j = 0; j < out.length; j++) out[j] ^= u[j];
  }
  const hash = `$${RSPAMD_PBKDF2.id}$${rspamdBase32(salt)}$${rspamdBase32(out.subarray(0, RSPAMD_PBKDF2.keyBytes))}`;
  rspamdHashes.set(memo, hash);
  return hash;
}

/** z-base-32's alphabet, but Rspamd takes each byte's bits least significant first. */
function rspamdBase32(bytes: Uint8Array): string {
  const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769";
  let text = "";
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc |= byte << bits;
    bits += 8;
    for (; bits >= 5; bits -= 5, acc >>= 5) text += alphabet[acc & 31];
  }
  return bits > 0 ? text + alphabet[acc & 31] : text;
}
