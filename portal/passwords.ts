// Mail passwords as the platform stores them: {BLF-CRYPT} bcrypt hashes, as `doveadm pw -s
// BLF-CRYPT` makes them ($2y$, which bcrypt libraries call $2b$: the same algorithm), verified and
// made by bcryptjs. The portal's own staff accounts use the same scheme.
import * as bcrypt from "bcryptjs";

const PREFIX = "{BLF-CRYPT}";
const COST = 10;
export const MIN_PASSWORD_LENGTH = 10;

export async function hashPassword(password: string): Promise<string> {
  const hash = await bcrypt.hash(password, COST);
  return PREFIX + hash.replace(/^\$2[ab]\$/, "$2y$");
}

/** False for a wrong password and for any hash that is not {BLF-CRYPT} (the portal verifies no other scheme). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (!stored.startsWith(PREFIX)) return false;
  return bcrypt.compare(password, stored.slice(PREFIX.length).replace(/^\$2y\$/, "$2b$"));
}

/** The portal's own rule for new passwords; undefined when fine. */
export function passwordProblem(password: unknown): string | undefined {
  if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) return `must be at least ${MIN_PASSWORD_LENGTH} characters`;
  return undefined;
}
