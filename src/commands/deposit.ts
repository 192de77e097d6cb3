import { networkLabel } from "../bitcoin/network.js";
import { issueDepositAddress } from "../store/deposits.js";
import type { Command, CommandContext, DepositKeys, HelpEntry, Outcome, Step } from "./types.js";

/** Whether a payout wallet has a deposit branch (PayoutWallet has). */
export function isDepositKeys(w: unknown): w is DepositKeys {
  const x = w as Partial<DepositKeys> | null;
  return typeof x?.depositAddress === "function" && typeof x.depositWallet === "string" && typeof x.network === "string";
}

/** DEPOSIT_CONFIRMATIONS when the delivery does not say (the env schema's default). */
const DEFAULT_CONFIRMATIONS = 2;

export const depositHelp: HelpEntry[] = [
  {
    usage: "/deposit",
    description:
      "Replies with your own deposit address. What you send to it is credited to your funds once it is confirmed " +
      "(DEPOSIT_CONFIRMATIONS blocks), and the bot says so here. The reply is public, like every comment. " +
      "Once the address has received a payment, `/deposit` gives you a fresh one.",
    whoCanUse: "Anyone, for their own funds",
    examples: ["/deposit"],
  },
];

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

function refusal(ctx: CommandContext): Outcome | null {
  const keys = ctx.deposits;
  if (!keys) return { reply: "this app has no wallet configured, so it takes no deposits. Nothing was recorded." };
  if (keys.network !== ctx.network) {
    // Above all a mainnet app with a test wallet (or the reverse): coins sent would go to the wrong chain.
    return {
      reply:
        `this app runs on ${networkLabel(ctx.network)} but its wallet is on ${networkLabel(keys.network)}, so it takes no deposits ` +
        "until its operator fixes that. Do not send anything. Nothing was recorded.",
    };
  }
  return null;
}

function issue(ctx: CommandContext): Step {
  const keys = ctx.deposits!;
  const confirmations = ctx.depositConfirmations ?? DEFAULT_CONFIRMATIONS;
  return async (tx) => {
    const a = await issueDepositAddress(
      tx,
      {
        wallet: keys.depositWallet,
        userId: ctx.author.id,
        login: ctx.author.login,
        where: { installationId: ctx.issue.installationId, owner: ctx.issue.owner, repo: ctx.issue.repo, issueNumber: ctx.issue.number },
        at: new Date(),
      },
      (index) => keys.depositAddress(index),
    );
    return {
      reply:
        `your deposit address is \`${a.address}\` (${networkLabel(keys.network)}). Send only ${networkLabel(keys.network)} bitcoin to it: ` +
        `a payment is credited to your funds once it has ${plural(confirmations, "confirmation")}, and I will say so on this issue. ` +
        "This comment is public, like every comment here: anyone can see this address and follow what it receives on a block explorer. " +
        "Once it has received a payment, `/deposit` gives you a fresh one.",
    };
  };
}

export const deposit: Command = {
  names: ["deposit"],
  help: depositHelp,
  async run(line, ctx) {
    const args = line.args.trim().toLowerCase();
    if (args === "help") return { help: true };
    if (args !== "") return { reply: "`/deposit` takes nothing after it. Try: `/deposit`" };
    return refusal(ctx) ?? issue(ctx);
  },
};
