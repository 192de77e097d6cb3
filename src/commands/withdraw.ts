import { formatFeeRate } from "../bitcoin/sizes.js";
import { formatAmount, parseAmount } from "../core/money.js";
import { satsText } from "../payouts/comments.js";
import { outputVbytes, payableMinimum, withdrawalOutput } from "../payouts/plan.js";
import { fiatToSats } from "../price/convert.js";
import type { PayoutSettings } from "../settings.js";
import { createWithdrawal, fundsBalance } from "../store/payouts.js";
import { getWallet } from "../store/wallets.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step, WithdrawalTerms } from "./types.js";

/**
 * /withdraw [<amount>|all]: a person's own funds (what they deposited, not spent) queued to their
 * /wallet for the next payout run. Its output pays the amount less its share of the batch's network
 * fee (the output's vbytes at the batch's rate: estimated here at today's rate, fixed at signing);
 * earnings are not withdrawn here, they are paid out automatically with the fee on top.
 */

export const withdrawHelp: HelpEntry[] = [
  {
    usage: "/withdraw [<amount>|all]",
    description:
      "Queues your funds (what you deposited with `/deposit` and have not spent) to be paid to your `/wallet` address (as it " +
      "is when you ask) in the next payout run; without an amount, all of them. Amounts as `/bounty` takes them (fiat at today's price). The payout pays " +
      "its own share of the network fee, deducted from the amount: its output's size at the batch's fee rate (the reply " +
      "estimates it; the payout comment gives the exact figure). Earnings are not withdrawn this way: they are paid out " +
      "automatically, with the fee on top. With `/wallet donate` set, the withdrawal is donated to that charity. One " +
      "withdrawal at a time; the usual payout minimum applies.",
    whoCanUse: "Anyone, for their own funds",
    examples: ["/withdraw all", "/withdraw 20000sats", "/withdraw 10usd"],
  },
];

/** What /withdraw needs of a payout wallet (PayoutWallet provides feeRate), or undefined without one. */
export function withdrawalTerms(wallet: { feeRate(): Promise<bigint> } | undefined, settings: Pick<PayoutSettings, "minSats" | "mode">): WithdrawalTerms | undefined {
  if (!wallet) return undefined;
  return { minSats: settings.minSats, mode: settings.mode, feeRate: () => wallet.feeRate() };
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const NOTHING = "Nothing was recorded.";

/** The sats asked for: all, or an amount priced now (fiat needs an agreeing price: fail closed). */
async function requested(text: string, ctx: CommandContext): Promise<{ ok: true; sats: bigint | "all" } | { ok: false; reply: string }> {
  if (text === "" || text.toLowerCase() === "all") return { ok: true, sats: "all" };
  const parsed = parseAmount(text, ctx.config.currency, { command: "/withdraw" });
  if (!parsed.ok) return { ok: false, reply: parsed.error };
  const amount = parsed.value;
  if (amount.currency === "BTC") return { ok: true, sats: amount.minor };
  const refuse = (why: string) => ({ ok: false as const, reply: `a withdrawal in ${amount.currency} is priced in sats at today's price, and ${why}. ${NOTHING} Try again later, or ask in sats.` });
  if (!ctx.prices) return refuse("this app has no price source");
  let price;
  try {
    price = await ctx.prices.price(amount.currency);
  } catch (err) {
    return refuse(`the price could not be read (${message(err)})`);
  }
  if (!price.ok) return refuse(`there is no agreeing ${amount.currency} price right now (${price.reason})`);
  const sats = fiatToSats(amount.minor, amount.currency, price.rateText);
  if (sats <= 0n) return { ok: false, reply: `${formatAmount(amount)} is less than one sat at today's price. ${NOTHING}` };
  return { ok: true, sats };
}

function queue(ctx: CommandContext, terms: WithdrawalTerms, asked: bigint | "all", rate: bigint): Step {
  return async (tx): Promise<Outcome> => {
    const wallet = await getWallet(tx, ctx.author.id);
    if (!wallet) return { reply: `you have not linked a wallet, so there is nowhere to send your funds: link one with \`/wallet <your bitcoin address>\`, then \`/withdraw\` again. ${NOTHING}` };
    if (wallet.network !== ctx.network) {
      return { reply: `your wallet is a ${wallet.network} address but payouts are made on ${ctx.network}: link a ${ctx.network} one with \`/wallet <address>\`. ${NOTHING}` };
    }
    const funds = await fundsBalance(tx, ctx.author.id);
    if (funds.posted < 0n) {
      return {
        reply:
          `your funds are overdrawn by ${satsText(-funds.posted)} (a deposit was taken back after a chain reorganisation): ` +
          `nothing is withdrawn from them until that is covered. ${NOTHING}`,
      };
    }
    const available = funds.available > 0n ? funds.available : 0n;
    const sats = asked === "all" ? available : asked;
    if (available === 0n || sats > available) {
      const what = available === 0n ? "you have no funds available to withdraw" : `you have only ${satsText(available)} of funds available to withdraw`;
      return {
        reply:
          `${what}${asked === "all" ? "" : ` (you asked for ${satsText(sats)})`}. Funds are what you deposited with \`/deposit\` and have not ` +
          `spent or reserved; earnings are paid out automatically and cannot be withdrawn this way. ${NOTHING}`,
      };
    }
    const out = withdrawalOutput({ sats, addressType: wallet.addressType }, rate, terms.minSats);
    if (!out.ok) {
      const min = payableMinimum(wallet.addressType, terms.minSats);
      return {
        reply:
          `${satsText(sats)} is too little to withdraw: its share of the network fee is about ${satsText(out.share)} at today's ` +
          `${formatFeeRate(rate)} sat/vB, which would leave less than the ${satsText(min)} payout minimum. ${NOTHING}`,
      };
    }
    const r = await createWithdrawal(tx, {
      key: `withdraw:${ctx.commentId}`,
      payee: {
        kind: wallet.kind === "charity" ? "charity" : "user",
        userId: ctx.author.id,
        login: ctx.author.login,
        charityId: wallet.charityId,
        charityName: wallet.charityName,
        address: wallet.address,
        addressType: wallet.addressType,
        network: wallet.network,
      },
      sats,
      state: terms.mode === "approve" ? "awaiting_approval" : "queued",
      ask: { installationId: ctx.issue.installationId, owner: ctx.issue.owner, repo: ctx.issue.repo, issueNumber: ctx.issue.number },
    });
    if (!r.ok) {
      if (r.reason === "open") {
        return { reply: `you already have a withdrawal of ${satsText(r.sats)} waiting to be sent (payout ${r.id}); one at a time, so wait for it to be paid first. ${NOTHING}` };
      }
      if (r.reason === "overdrawn") return { reply: `your funds are overdrawn by ${satsText(-r.posted)}: nothing is withdrawn from them until that is covered. ${NOTHING}` };
      return { reply: `you have only ${satsText(r.available > 0n ? r.available : 0n)} of funds available to withdraw now. ${NOTHING}` };
    }
    const to = wallet.kind === "charity" ? `donated to **${wallet.charityName ?? wallet.charityId}** (\`${wallet.address}\`)` : `sent to \`${wallet.address}\``;
    const when = terms.mode === "approve" ? "in a payout run once an operator approves it" : "in the next payout run";
    return {
      reply:
        `${satsText(r.sats)} of your funds will be ${to} ${when}. Its share of the network fee is deducted from it: about ` +
        `${satsText(out.share)} at today's ${formatFeeRate(rate)} sat/vB (its output's ${outputVbytes(wallet.addressType)} vB), so about ` +
        `${satsText(out.sats)} arrive; the exact figure is fixed when the transaction is signed, and I will comment here with it. ` +
        "Your earnings are not part of this: they are paid out automatically.",
    };
  };
}

export const withdraw: Command = {
  names: ["withdraw"],
  help: withdrawHelp,
  async run(line, ctx) {
    const args = line.args.trim();
    if (args.toLowerCase() === "help") return { help: true };
    const terms = ctx.withdrawals;
    if (!terms) return { reply: `this app has no payout wallet configured, so nothing can be withdrawn. ${NOTHING}` };
    const asked = await requested(args, ctx);
    if (!asked.ok) return { reply: asked.reply };
    let rate: bigint;
    try {
      rate = await terms.feeRate();
    } catch (err) {
      // Without today's fee rate the share cannot be estimated, nor the minimum checked: fail closed.
      return { reply: `I could not get today's network fee estimate (${message(err)}), which a withdrawal needs. ${NOTHING} Please try again later.` };
    }
    return queue(ctx, terms, asked.sats, rate);
  },
};
