import { reportLines } from "../../src/cli/payouts.js";
import type { RunReport } from "../../src/payouts/run.js";

const report = (r: Partial<RunReport>): RunReport => ({
  ran: true, credited: 0, priceWaits: [], queued: 0, signed: [], broadcast: [], confirmed: [], replaced: [], bumped: [], joined: [],
  waiting: null, heldOverTxCap: [], solvency: null, ...r,
});

test("payouts run reports a replacement that added queued payouts to an unconfirmed batch, and says nothing of joins when there were none", () => {
  const j = "ab".repeat(32);
  expect(reportLines(report({ signed: [j], broadcast: [j], joined: [j] }))).toContain(`Joined a batch (RBF):        ${j} (queued payouts added to an unconfirmed batch)`);
  expect(reportLines(report({})).some((l) => l.startsWith("Joined"))).toBe(false);
});
