import type { Queryable } from "../store/db.js";
import { csvRecord } from "./format.js";
import { defineCommand, UsageError } from "./types.js";

export const AUDIT_COLUMNS = ["id", "at", "repository", "issue", "kind", "actor", "user_id", "delivery_id", "data"] as const;

const PAGE = 1000;

/**
 * `audit export --csv`: the audit log (every change, who, when, which delivery) for a spreadsheet or
 * an auditor. It was `ledger export` before the ledger of money had that name (`ledger export` now
 * writes the ledger's transfers).
 */
export const auditExport = defineCommand({
  words: ["audit", "export"],
  usage: "audit export --csv",
  description:
    `Writes the audit log as CSV on stdout, oldest first: ${AUDIT_COLUMNS.join(", ")} (data as JSON). ` +
    "(Before the ledger of money, this was `ledger export`, which now writes the ledger's transfers.)",
  examples: ["bounty-bot audit export --csv > audit.csv"],
  options: { csv: { type: "boolean" } },
  parse({ values }) {
    if (values.csv !== true) throw new UsageError("say the format: --csv (the only one)");
    return undefined;
  },
  async run(_input, ctx) {
    ctx.out(csvRecord([...AUDIT_COLUMNS]));
    for await (const row of auditRows(await ctx.db())) ctx.out(row);
    return 0;
  },
});

/** The events table with each bounty's repository and issue, as CSV records, a page at a time. */
export async function* auditRows(db: Queryable): AsyncGenerator<string> {
  let after = 0n;
  for (;;) {
    const rows = await db.query<{
      id: bigint;
      at: Date;
      repo_owner: string | null;
      repo_name: string | null;
      issue_number: number | null;
      kind: string;
      actor_login: string;
      user_id: bigint | null;
      delivery_id: string | null;
      data: unknown;
    }>(
      `SELECT e.id, e.at, b.repo_owner, b.repo_name, b.issue_number, e.kind, e.actor_login, e.user_id, e.delivery_id, e.data
       FROM events e LEFT JOIN bounties b ON b.id = e.bounty_id
       WHERE e.id > $1 ORDER BY e.id LIMIT ${PAGE}`,
      [after],
    );
    for (const r of rows) {
      yield csvRecord([
        BigInt(r.id),
        new Date(r.at).toISOString(),
        r.repo_owner && r.repo_name ? `${r.repo_owner}/${r.repo_name}` : "",
        r.issue_number,
        r.kind,
        r.actor_login,
        r.user_id === null ? null : BigInt(r.user_id),
        r.delivery_id,
        JSON.stringify(typeof r.data === "string" ? JSON.parse(r.data) : r.data),
      ]);
    }
    if (rows.length < PAGE) return;
    after = BigInt(rows[rows.length - 1]!.id);
  }
}
