import { createHmac, generateKeyPairSync, randomUUID } from "node:crypto";
import nock from "nock";
import { pino } from "pino";
import { startBountyBot, type BountyBot } from "../../src/server.js";
import { loadSettings } from "../../src/settings.js";
import type { Db } from "../../src/store/db.js";
import { REPO } from "./payloads.js";

export const API = "https://api.github.com";
export const SECRET = "test-webhook-secret";
const { privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

/** bounty-bot on a loopback port with a test database; GitHub is nock's. Throttling off. */
export async function startTestBot(db: Db, env: Record<string, string> = {}): Promise<BountyBot> {
  const settings = loadSettings({
    APP_ID: "123",
    PRIVATE_KEY: privateKey,
    WEBHOOK_SECRET: SECRET,
    PORT: "0",
    HOST: "127.0.0.1",
    BITCOIN_NETWORK: "testnet",
    ...env,
  });
  return startBountyBot(settings, { db, log: pino({ level: "silent" }), throttle: false, cardDebounceMs: 0, sweepMs: 60_000 });
}

/** Posts a webhook the way GitHub does: signed, with event and delivery headers. */
export async function deliver(
  bot: BountyBot,
  event: string,
  payload: object,
  opts: { id?: string; secret?: string } = {},
): Promise<{ status: number; id: string }> {
  const id = opts.id ?? randomUUID();
  const body = JSON.stringify(payload);
  const sig = createHmac("sha256", opts.secret ?? SECRET).update(body).digest("hex");
  const res = await fetch(`${bot.url}/api/github/webhooks`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": id,
      "x-hub-signature-256": `sha256=${sig}`,
      "user-agent": "GitHub-Hookshot/test",
    },
    body,
  });
  await res.text();
  return { status: res.status, id };
}

/** GitHub as nock answers it, for the test repository. */
export function github() {
  return nock(API);
}
export const repoPath = `/repos/${REPO.owner}/${REPO.name}`;

export function mockToken(installationId = REPO.installationId) {
  return github()
    .post(`/app/installations/${installationId}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} });
}

/** No .github/bounties.yml in the repo nor in the org's .github repository. */
export function mockNoConfig() {
  return github()
    .get(`${repoPath}/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(404, { message: "Not Found" })
    .get(`/repos/${REPO.owner}/.github/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(404, { message: "Not Found" });
}

export function mockConfig(yaml: string) {
  return github()
    .get(`${repoPath}/contents/${encodeURIComponent(".github/bounties.yml")}`)
    .reply(200, yaml);
}

export function mockPermission(login: string, permission: string) {
  return github()
    .get(`${repoPath}/collaborators/${login}/permission`)
    .reply(200, { permission: permission === "maintain" ? "write" : permission, role_name: permission, user: { login } });
}
