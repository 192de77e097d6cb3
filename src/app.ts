import type { ApplicationFunction } from "probot";
import { storeDelivery } from "./store/inbox.js";
import type { Db } from "./store/db.js";

/** The deliveries bounty-bot acts on; everything else is acknowledged and dropped. */
const HANDLED: Record<string, ReadonlySet<string>> = {
  issue_comment: new Set(["created"]),
  issues: new Set(["closed", "reopened", "labeled", "unlabeled"]),
  pull_request: new Set(["closed"]),
};

/**
 * Wiring only: every delivery bounty-bot acts on is stored in the inbox before GitHub gets its
 * 2xx (if storing fails, GitHub sees a 500 and the delivery can be redelivered), then the worker
 * is woken to process it.
 */
export function bountyBotApp(opts: { db: Db; onStored(): void }): ApplicationFunction {
  return (app) => {
    app.onAny(async (context) => {
      const payload = context.payload as { action?: string; installation?: { id: number } };
      if (!HANDLED[context.name]?.has(payload.action ?? "")) return;
      await storeDelivery(opts.db, {
        id: context.id,
        event: context.name,
        action: payload.action ?? null,
        installationId: payload.installation?.id ?? null,
        payload: context.payload,
      });
      opts.onStored();
    });
  };
}
