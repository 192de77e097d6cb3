/**
 * Delivers a webhook the way GitHub does: a JSON POST signed with
 * HMAC-SHA256 of the exact body bytes (`x-hub-signature-256: sha256=<hex>`),
 * plus the legacy SHA-1 signature and the other headers Hookshot sends.
 */
import crypto from "node:crypto";

export interface DeliverOptions {
  /** Defaults to a random UUID, as GitHub's are. */
  deliveryId?: string;
  /** Webhook (hook) id and App id announced in the x-github-hook-* headers. */
  hookId?: number;
  appId?: number;
  /** Send this signature instead of the computed one (to test rejection). */
  signature?: string;
  /** Extra or overriding headers. */
  headers?: Record<string, string>;
}

export interface DeliverResult {
  status: number;
  body: string;
  deliveryId: string;
}

/** "sha256=<hex>" for `body`, as in x-hub-signature-256. */
export function signature256(secret: string, body: string): string {
  return `sha256=${crypto.createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

export async function deliver(appUrl: string, secret: string, event: string, payload: object, opts: DeliverOptions = {}): Promise<DeliverResult> {
  const body = JSON.stringify(payload);
  const deliveryId = opts.deliveryId ?? crypto.randomUUID();
  const installation = (payload as { installation?: { id?: number } }).installation;
  const headers: Record<string, string> = {
    accept: "*/*",
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/a7a2f0e",
    "x-github-delivery": deliveryId,
    "x-github-event": event,
    "x-github-hook-id": String(opts.hookId ?? 1),
    "x-github-hook-installation-target-id": String(opts.appId ?? 1),
    "x-github-hook-installation-target-type": installation ? "integration" : "repository",
    "x-hub-signature": `sha1=${crypto.createHmac("sha1", secret).update(body, "utf8").digest("hex")}`,
    "x-hub-signature-256": opts.signature ?? signature256(secret, body),
    ...(opts.headers ?? {}),
  };
  const res = await fetch(appUrl, { method: "POST", headers, body });
  return { status: res.status, body: await res.text(), deliveryId };
}
