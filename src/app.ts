import type { Logger } from "pino";
import { deliveryAccount, isHandled, objectKey } from "./core/webhooks.js";
import { featureEvents } from "./features/index.js";
import type { SignedDelivery } from "./http/webhooks.js";
import { storeDelivery, type StoreOutcome } from "./store/inbox.js";
import type { Db } from "./store/db.js";

export type IntakeOutcome = StoreOutcome | "unhandled" | "not-allowed";

export interface IntakeOptions {
  db: Db;
  /** Lower-cased logins whose installations are served (ALLOWED_ACCOUNTS, or the app's owner). */
  allowedAccounts: ReadonlySet<string>;
  log: Logger;
  /** A delivery to process was stored: wake the worker. */
  onStored(): void;
}

/**
 * Wiring only: a signed delivery bounty-bot acts on, from an allowed account, is stored in the
 * inbox with the key of the GitHub object it acts on before GitHub gets its 2xx; the worker is
 * then woken. Others are acknowledged and dropped; an account not allowed is logged once.
 */
export function bountyBotIntake(opts: IntakeOptions): (d: SignedDelivery) => Promise<IntakeOutcome> {
  const warned = new Set<string>();
  const noDiscussions = new Set<number>();
  return async ({ id, event, payload }) => {
    const p = payload as { action?: string; installation?: { id?: number } };
    const action = typeof p?.action === "string" ? p.action : null;
    if (event === "installation" && opts.allowedAccounts.has((deliveryAccount(payload) ?? "").toLowerCase())) noteDiscussionsPermission(payload, noDiscussions, opts.log);
    const features = featureEvents(event, action);
    if (!isHandled(event, action) && features.length === 0) return "unhandled";
    const account = deliveryAccount(payload);
    if (!account || !opts.allowedAccounts.has(account.toLowerCase())) {
      const who = account ?? "(no account)";
      if (!warned.has(who.toLowerCase())) {
        warned.add(who.toLowerCase());
        opts.log.warn({ account: who, delivery: id, event }, `deliveries from ${who} are ignored: it is not in ALLOWED_ACCOUNTS (logged once)`);
      }
      return "not-allowed";
    }
    const outcome = await storeDelivery(opts.db, {
      id,
      event,
      action,
      installationId: typeof p.installation?.id === "number" ? p.installation.id : null,
      payload,
      objectKey: objectKey(event, action, payload) ?? features.map((f) => f.objectKey?.(payload) ?? null).find((k) => k !== null) ?? null,
    });
    if (outcome === "duplicate") opts.log.info({ delivery: id, event, action }, "a replay of a delivery already stored (same GitHub object, new delivery id): ignored");
    if (outcome === "stored" || outcome === "rearmed") opts.onStored();
    return outcome;
  };
}

/**
 * GitHub sends `installation` events (created, new_permissions_accepted…) with the permissions
 * the installation granted. One that has not granted `discussions: write` keeps working in its
 * issues; its Discussions see nothing of the app. Said once per installation, and again if it
 * accepts later.
 */
function noteDiscussionsPermission(payload: unknown, noted: Set<number>, log: Logger): void {
  const inst = (payload as { installation?: { id?: unknown; account?: { login?: unknown }; permissions?: Record<string, unknown> } })?.installation;
  if (typeof inst?.id !== "number") return;
  const account = typeof inst.account?.login === "string" ? inst.account.login : "(unknown account)";
  if (inst.permissions?.discussions === "write") {
    if (noted.delete(inst.id)) log.info({ installation: inst.id, account }, `installation ${inst.id} (${account}) accepted discussions: write: paid questions and surveys now work in its Discussions`);
    return;
  }
  if (noted.has(inst.id)) return;
  noted.add(inst.id);
  log.warn(
    { installation: inst.id, account },
    `installation ${inst.id} (${account}) has not accepted the discussions: write permission: everything works in its issues; ` +
      "paid questions and surveys in its Discussions need an admin to accept it in the installation's settings (logged once)",
  );
}
