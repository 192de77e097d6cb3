import { parseAddress } from "../bitcoin/address.js";
import { networkLabel } from "../bitcoin/network.js";
import { getWallet, removeWallet, setWallet, type Wallet } from "../store/wallets.js";
import type { Command, CommandContext, HelpEntry, Outcome, Step } from "./types.js";

export const walletHelp: HelpEntry[] = [
  {
    usage: "/wallet <bitcoin address>",
    description:
      "Links the bitcoin address your bounties are paid to (P2WPKH, P2TR, P2WSH, P2SH or P2PKH). It is yours " +
      "across every repository where the app is installed, and only you can change it.",
    whoCanUse: "Anyone, for their own wallet",
    examples: ["/wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"],
  },
  {
    usage: "/wallet donate <charity>",
    description: "Sends your payouts to one of the charities this repository's config lists, instead of to you.",
    whoCanUse: "Anyone, for their own wallet",
    examples: ["/wallet donate coin-center"],
  },
  {
    usage: "/wallet",
    description: "Shows where your payouts go.",
    whoCanUse: "Anyone",
    examples: ["/wallet"],
  },
  {
    usage: "/wallet remove",
    description: "Unlinks your payout address or charity; payouts then wait until you link one again.",
    whoCanUse: "Anyone, for their own wallet",
    examples: ["/wallet remove"],
  },
];

function describe(w: Wallet): string {
  return w.kind === "charity"
    ? `your payouts are donated to **${w.charityName}** (\`${w.charityId}\`, ${w.address}).`
    : `your payouts go to \`${w.address}\` (${w.addressType}, ${w.network}).`;
}

function show(ctx: CommandContext): Step {
  return async (tx) => {
    const w = await getWallet(tx, ctx.author.id);
    return {
      reply: w
        ? `${describe(w)} Change it with \`/wallet <address>\`, or \`/wallet remove\`.`
        : "you have not linked a wallet yet. Link one with `/wallet <your bitcoin address>`" +
          " or `/wallet donate <charity>`.",
    };
  };
}

function donate(id: string, ctx: CommandContext): Outcome | Step {
  const charities = ctx.config.charities;
  const charity = charities.find((c) => c.id === id.toLowerCase());
  if (!charity) {
    const list = charities.map((c) => `\`${c.id}\` (${c.name})`).join(", ");
    return {
      reply: charities.length
        ? `"${id}" is not one of this repository's charities. Choose one of: ${list}. Try: \`/wallet donate ${charities[0]!.id}\``
        : "this repository's config lists no charities (`charities` in .github/bounties.yml), so there is nothing to donate to.",
    };
  }
  const parsed = parseAddress(charity.address, ctx.network);
  if (!parsed.ok) return { reply: `the charity "${charity.id}" has an unusable address. ${parsed.reason}` };
  return async (tx) => {
    await setWallet(
      tx,
      {
        userId: ctx.author.id,
        login: ctx.author.login,
        kind: "charity",
        address: parsed.address,
        addressType: parsed.type,
        network: ctx.network,
        charityId: charity.id,
        charityName: charity.name,
      },
      { actor: ctx.author, deliveryId: ctx.deliveryId },
    );
    return { react: true };
  };
}

function link(text: string, ctx: CommandContext): Outcome | Step {
  if (/\s/.test(text)) {
    return { reply: "give one address and nothing else. Try: `/wallet <your bitcoin address>`" };
  }
  const parsed = parseAddress(text, ctx.network);
  if (!parsed.ok) {
    return {
      reply:
        `\`${text}\` cannot be used as a ${networkLabel(ctx.network)} payout address. ${parsed.reason} ` +
        "Try: `/wallet <your bitcoin address>`",
    };
  }
  return async (tx) => {
    await setWallet(
      tx,
      {
        userId: ctx.author.id,
        login: ctx.author.login,
        kind: "address",
        address: parsed.address,
        addressType: parsed.type,
        network: ctx.network,
        charityId: null,
        charityName: null,
      },
      { actor: ctx.author, deliveryId: ctx.deliveryId },
    );
    return { react: true };
  };
}

export const wallet: Command = {
  names: ["wallet"],
  help: walletHelp,
  async run(line, ctx) {
    const args = line.args.trim();
    const [first = "", ...rest] = args.split(/\s+/);
    const sub = first.toLowerCase();
    if (sub === "") return show(ctx);
    if (sub === "help") return { help: true };
    if (sub === "remove") {
      return async (tx) => {
        const removed = await removeWallet(tx, ctx.author.id, { actor: ctx.author, deliveryId: ctx.deliveryId });
        return removed ? { react: true } : { reply: "you have no wallet linked, so there is nothing to remove." };
      };
    }
    if (sub === "donate") {
      if (rest.length !== 1) return { reply: "name one charity. Try: `/wallet donate <charity>`" };
      return donate(rest[0]!, ctx);
    }
    return link(args, ctx);
  },
};
