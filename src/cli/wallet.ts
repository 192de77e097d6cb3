import { satsText } from "./format.js";
import { defineCommand } from "./types.js";

/** `wallet address`: where to send coins so the app can pay. Each call hands out a new address. */
export const walletAddress = defineCommand({
  words: ["wallet", "address"],
  usage: "wallet address",
  description: "Prints a fresh receive address of the payout wallet, to fund it.",
  examples: ["bounty-bot wallet address"],
  parse: () => undefined,
  async run(_input, ctx) {
    const wallet = await ctx.wallet();
    ctx.out(await wallet.receiveAddress());
    return 0;
  },
});

/** `wallet balance`: what the payout wallet holds, as the chain backend sees it now. */
export const walletBalance = defineCommand({
  words: ["wallet", "balance"],
  usage: "wallet balance",
  description: "Shows the payout wallet's confirmed and unconfirmed balance.",
  examples: ["bounty-bot wallet balance"],
  parse: () => undefined,
  async run(_input, ctx) {
    const wallet = await ctx.wallet();
    const { confirmedSats, unconfirmedSats } = await wallet.sync();
    ctx.out(`confirmed:   ${satsText(confirmedSats)}`);
    ctx.out(`unconfirmed: ${satsText(unconfirmedSats)}`);
    return 0;
  },
});
