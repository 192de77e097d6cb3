import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSettings } from "../src/settings.js";

const { privateKey: pem } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const pkcs8 = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;
const ec = generateKeyPairSync("ec", {
  namedCurve: "P-256",
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
}).privateKey;
const escaped = pem.trim().replace(/\n/g, "\\n");
const base = { WEBHOOK_SECRET: "s3cret-for-tests", APP_ID: "123" };
const load = (env: Record<string, string>) => loadSettings({ ...base, ...env });

describe("PRIVATE_KEY as the environment carries it", () => {
  test.each([
    ["as GitHub gave it", pem],
    ["in double quotes, as Probot's .env writes it", `"${pem}"`],
    ["in single quotes", `'${pem}'`],
    ["with \\n escapes on one line", escaped],
    ["with \\n escapes, quoted", `"${escaped}"`],
    ["with CRLF line ends", pem.replace(/\n/g, "\r\n")],
    ["with escaped \\r\\n", pem.trim().replace(/\n/g, "\\r\\n")],
    ["base64 of the PEM (a Secret's data)", Buffer.from(pem).toString("base64")],
    ["with surrounding blank space", `\n  ${pem}\n\n`],
  ])("%s: read as the same key", (_what, value) => {
    expect(load({ PRIVATE_KEY: value }).privateKey).toBe(pem);
  });

  test("a PKCS#8 key is read too, as the same RSA key", () => {
    const key = load({ PRIVATE_KEY: pkcs8 }).privateKey!;
    expect(key).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
  });

  test.each([
    // All that is left of Probot's quoted multi-line value after `docker run --env-file .env`.
    ["only the first line (docker run --env-file)", '"-----BEGIN RSA PRIVATE KEY-----', /^Invalid environment: PRIVATE_KEY cannot be read as a PEM private key \(it is cut short: no -----END line\)/],
    ["a key with a line missing", pem.split("\n").filter((_, i) => i !== 3).join("\n"), /^Invalid environment: PRIVATE_KEY cannot be read as a PEM private key:/],
    ["not a key at all", "changeme", /^Invalid environment: PRIVATE_KEY is not a PEM private key/],
    ["an EC key", ec, /^Invalid environment: PRIVATE_KEY is a ec key; GitHub Apps sign with RSA keys/],
  ])("%s: refused at start, in one line naming PRIVATE_KEY", (_what, value, message) => {
    let error: Error | undefined;
    try {
      load({ PRIVATE_KEY: value });
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error!.message.split("\n")).toHaveLength(1);
    expect(error!.message).toMatch(/PRIVATE_KEY_PATH/); // says what to do instead
  });

  test("PRIVATE_KEY_PATH: a file with CRLF line ends is read; a bad file is refused naming the path", () => {
    const dir = mkdtempSync(join(tmpdir(), "bounty-key-"));
    try {
      writeFileSync(join(dir, "key.pem"), pem.replace(/\n/g, "\r\n"));
      writeFileSync(join(dir, "bad.pem"), "-----BEGIN RSA PRIVATE KEY-----\nnope\n");
      expect(load({ PRIVATE_KEY_PATH: join(dir, "key.pem") }).privateKey).toBe(pem);
      expect(() => load({ PRIVATE_KEY_PATH: join(dir, "bad.pem") })).toThrow(`PRIVATE_KEY_PATH (${join(dir, "bad.pem")}) cannot be read`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("APP_ID without a key, or a key without APP_ID, is an error and not the setup page", () => {
    expect(() => loadSettings({ APP_ID: "123" })).toThrow(/^Invalid environment: APP_ID is set but PRIVATE_KEY \(or PRIVATE_KEY_PATH\) is not/);
    expect(() => loadSettings({ PRIVATE_KEY: pem })).toThrow(/^Invalid environment: PRIVATE_KEY is set but APP_ID is not/);
    expect(() => loadSettings({ PRIVATE_KEY_PATH: "/nonexistent/key.pem" })).toThrow(/PRIVATE_KEY_PATH is set but APP_ID is not/);
    // Neither: the setup page's case.
    expect(loadSettings({}).appId).toBeUndefined();
  });
});

describe("the webhook URL settings", () => {
  test("PUBLIC_URL, WEBHOOK_PROXY_URL and GH_ORG are read and checked", () => {
    const s = loadSettings({ PUBLIC_URL: "https://bounties.k8s.io/", WEBHOOK_PROXY_URL: "https://smee.io/abc", GH_ORG: "kubernetes-sigs" });
    expect([s.publicUrl, s.webhookProxyUrl, s.ghOrg]).toEqual(["https://bounties.k8s.io", "https://smee.io/abc", "kubernetes-sigs"]);
    expect(() => loadSettings({ PUBLIC_URL: "bounties.k8s.io" })).toThrow('PUBLIC_URL must be an http(s) URL, not "bounties.k8s.io"');
    expect(() => loadSettings({ WEBHOOK_PROXY_URL: "smee.io/abc" })).toThrow(/WEBHOOK_PROXY_URL must be an http\(s\) URL/);
    expect(() => loadSettings({ GH_ORG: "not an org" })).toThrow(/GH_ORG must be the login of a GitHub organisation/);
  });
});
