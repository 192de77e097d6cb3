import { chainDescriptor, checkDescriptor, descriptorChecksum, withChecksum } from "../../src/bitcoin/descriptors.js";
import { WalletKeys } from "../../src/bitcoin/keys.js";
import { ABANDON } from "./helpers.js";

describe("BIP380 descriptor checksum", () => {
  // BIP380's test vector, and the example in Bitcoin Core's deriveaddresses help.
  it.each([
    ["raw(deadbeef)", "89f8spxm"],
    [
      "wpkh([d34db33f/84h/0h/0h]xpub6DJ2dNUysrn5Vt36jH2KLBT2i1auw1tTSSomg8PhqNiUtx8QX2SvC9nrHu81fT41fvDUnhMjEzQgXnQjKEu3oaqMSzhSrHMxyyoEAmUHQbY/0/*)",
      "cjjspncu",
    ],
  ])("%s → #%s", (descriptor, checksum) => {
    expect(descriptorChecksum(descriptor)).toBe(checksum);
    expect(checkDescriptor(`${descriptor}#${checksum}`)).toEqual({ ok: true, descriptor });
  });

  // BIP380's invalid vectors.
  it.each([
    ["raw(deadbeef)#", "Expected 8 character checksum, not 0 characters"],
    ["raw(deadbeef)#89f8spxmx", "Expected 8 character checksum, not 9 characters"],
    ["raw(deadbeef)#89f8spx", "Expected 8 character checksum, not 7 characters"],
    ["raw(deedbeef)#89f8spxm", "does not match computed checksum"],
    ["raw(deadbeef)#89f8spxn", "does not match computed checksum"],
    ["raw(deadbeef)##9f8spxm", "does not match computed checksum"],
  ])("refuses %s", (text, why) => {
    const r = checkDescriptor(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.reason).toContain(why);
  });

  it("refuses characters outside the charset", () => {
    expect(() => descriptorChecksum("raw(Ü)")).toThrow(RangeError);
  });

  it("builds the wallet's chain descriptors from its account xpub", () => {
    const keys = WalletKeys.fromMnemonic(ABANDON, { network: "bitcoin", script: "p2wpkh" });
    const xpub = keys.accountXpub();
    // BIP84's account 0 xpub for the abandon mnemonic.
    expect(xpub).toBe("xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V");
    expect(chainDescriptor("p2wpkh", xpub, 0)).toBe(withChecksum(`wpkh(${xpub}/0/*)`));
    expect(chainDescriptor("p2tr", xpub, 1)).toMatch(/^tr\(xpub[^/]+\/1\/\*\)#[a-z0-9]{8}$/);
    expect(() => chainDescriptor("p2wpkh", "xpub)/0/*),pkh(x", 0)).toThrow(TypeError);
  });
});
