import { listDeliveries, retryDeliveries, type DeliveryRecord } from "../store/inbox.js";
import { table } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

const DELIVERY_ID = /^[\w-]{1,100}$/;

const stateText = (d: DeliveryRecord): string =>
  d.state === "duplicate" && d.duplicateOf ? `duplicate of ${d.duplicateOf}` : d.pruned ? `${d.state} (payload pruned)` : d.state;

export const deliveriesList = defineCommand({
  words: ["deliveries", "list"],
  usage: "deliveries list [--failed] [--limit <n>]",
  description:
    "Lists webhook deliveries, newest first: id, event, state, attempts, when received and the last error. --failed shows only the parked ones (their retries spent), which wait for GitHub's Redeliver or `deliveries retry`.",
  examples: ["bounty-bot deliveries list --failed", "bounty-bot deliveries list --limit 20"],
  options: { failed: { type: "boolean" }, limit: { type: "string" } },
  parse({ values }): { failed: boolean; limit: number } {
    const text = (values.limit as string | undefined) ?? "100";
    if (!/^[1-9]\d{0,5}$/.test(text)) throw new UsageError(`--limit must be a whole number from 1 to 999999, not "${text}"`);
    return { failed: values.failed === true, limit: Number(text) };
  },
  async run({ failed, limit }, ctx) {
    const deliveries = await listDeliveries(await ctx.db(), { failed, limit });
    if (deliveries.length === 0) {
      ctx.out(failed ? "No parked deliveries." : "No deliveries.");
      return 0;
    }
    const rows = deliveries.map((d) => [
      d.id,
      d.action ? `${d.event}.${d.action}` : d.event,
      stateText(d),
      String(d.attempts),
      d.receivedAt.toISOString(),
      (d.lastError ?? "").replace(/\s+/g, " ").slice(0, 200),
    ]);
    for (const line of table(["ID", "EVENT", "STATE", "ATTEMPTS", "RECEIVED", "LAST ERROR"], rows)) ctx.out(line);
    return 0;
  },
});

export const deliveriesRetry = defineCommand({
  words: ["deliveries", "retry"],
  usage: "deliveries retry <id…|--all>",
  description:
    "Arms parked deliveries again: the running app processes them at its next sweep (within 30 seconds), as GitHub's Redeliver would. Exit 1 when a named delivery is not parked.",
  examples: ["bounty-bot deliveries retry 72d3162e-cc78-11e3-81ab-4c9367dc0958", "bounty-bot deliveries retry --all"],
  options: { all: { type: "boolean" } },
  positionals: true,
  parse({ values, positionals }): { ids: string[] | "all" } {
    const all = values.all === true;
    if (all && positionals.length) throw new UsageError("give delivery ids or --all, not both");
    if (!all && positionals.length === 0) throw new UsageError("say which deliveries: their ids (see deliveries list --failed), or --all");
    const bad = positionals.filter((p) => !DELIVERY_ID.test(p));
    if (bad.length) throw new UsageError(`delivery ids are GitHub's X-GitHub-Delivery values; not ${bad.map((b) => `"${b}"`).join(", ")}`);
    return { ids: all ? "all" : [...new Set(positionals)] };
  },
  async run({ ids }, ctx) {
    const db = await ctx.db();
    const armed = await retryDeliveries(db, ids);
    if (armed.length) ctx.out(`Retrying: ${armed.join(", ")}. The app processes them at its next sweep.`);
    if (ids === "all") {
      if (armed.length === 0) ctx.out("No deliveries were parked.");
      return 0;
    }
    const missed = ids.filter((id) => !armed.includes(id));
    if (missed.length === 0) return 0;
    const found = new Map((await listDeliveries(db, { ids: missed, limit: missed.length })).map((d) => [d.id, d.state]));
    for (const id of missed) {
      const state = found.get(id);
      ctx.err(`delivery ${id}: ${state ? `${state}, not parked` : "no such delivery"}`);
    }
    return 1;
  },
});
