import type { WalletScript } from "./keys.js";

/**
 * Output script descriptors (BIP380) for watching the wallet from Bitcoin Core: the checksum Core
 * requires on importdescriptors, and the wallet's public descriptors. Only public keys go in.
 */

/** BIP380's INPUT_CHARSET: three groups of 32; a character's group number feeds the checksum too. */
const INPUT_CHARSET = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
const CHECKSUM_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0xf5dee51989n, 0xa9fdca3312n, 0x1bab10e32dn, 0x3706b1677an, 0x644d626ffdn];

function polymod(c: bigint, value: number): bigint {
  const top = c >> 35n;
  let next = ((c & 0x7ffffffffn) << 5n) ^ BigInt(value);
  for (let i = 0; i < 5; i++) if ((top >> BigInt(i)) & 1n) next ^= GENERATOR[i]!;
  return next;
}

/** The 8-character checksum of a descriptor (without its "#…"); throws on a character BIP380 does not allow. */
export function descriptorChecksum(descriptor: string): string {
  let c = 1n;
  let cls = 0;
  let clsCount = 0;
  for (const ch of descriptor) {
    const pos = INPUT_CHARSET.indexOf(ch);
    if (pos < 0) throw new RangeError(`Descriptors cannot contain ${JSON.stringify(ch)}`);
    c = polymod(c, pos & 31);
    cls = cls * 3 + (pos >> 5);
    if (++clsCount === 3) {
      c = polymod(c, cls);
      cls = 0;
      clsCount = 0;
    }
  }
  if (clsCount > 0) c = polymod(c, cls);
  for (let i = 0; i < 8; i++) c = polymod(c, 0);
  c ^= 1n;
  let out = "";
  for (let j = 0; j < 8; j++) out += CHECKSUM_CHARSET[Number((c >> BigInt(5 * (7 - j))) & 31n)];
  return out;
}

/** `descriptor#checksum`. */
export function withChecksum(descriptor: string): string {
  return `${descriptor}#${descriptorChecksum(descriptor)}`;
}

/** Splits `descriptor#checksum` and checks the checksum; a descriptor without one is returned as it is. */
export function checkDescriptor(text: string): { ok: true; descriptor: string } | { ok: false; reason: string } {
  const at = text.indexOf("#");
  if (at < 0) return { ok: true, descriptor: text };
  const descriptor = text.slice(0, at);
  const given = text.slice(at + 1);
  if (given.length !== 8) return { ok: false, reason: `Expected 8 character checksum, not ${given.length} characters` };
  let computed: string;
  try {
    computed = descriptorChecksum(descriptor);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  if (computed !== given) return { ok: false, reason: `Provided checksum '${given}' does not match computed checksum '${computed}'` };
  return { ok: true, descriptor };
}

/** The ranged descriptor of one chain of an account: wpkh(xpub/0/*) for BIP84, tr(xpub/0/*) for BIP86; with its checksum. */
export function chainDescriptor(script: WalletScript, accountXpub: string, chain: number): string {
  if (!/^[1-9A-HJ-NP-Za-km-z]+$/.test(accountXpub)) throw new TypeError("Not an extended public key");
  const fn = script === "p2tr" ? "tr" : "wpkh";
  return withChecksum(`${fn}(${accountXpub}/${chain}/*)`);
}
