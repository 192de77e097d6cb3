import { promises as fs } from "node:fs";
import { generateMnemonic } from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english.js";
import { loadWalletConfig } from "../bitcoin/config.js";
import { RECEIVE, WalletKeys } from "../bitcoin/keys.js";
import { networkLabel } from "../bitcoin/network.js";
import { satsText } from "./format.js";
import { defineCommand, type CliContext } from "./types.js";

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

/**
 * `wallet create`: a new payout wallet from scratch. The words go to WALLET_MNEMONIC_FILE (created
 * exclusively, mode 0600) or, without one, to stdout once. Never the database, the network or a log.
 */
export const walletCreate = defineCommand({
  words: ["wallet", "create"],
  usage: "wallet create",
  description:
    "Generates a new payout wallet (a 24-word BIP39 mnemonic): writes it to WALLET_MNEMONIC_FILE (mode 0600) when that is set and does not exist, " +
    "else prints it once; says how to store it and shows the first receive address. Refuses when a wallet is already configured.",
  examples: ["WALLET_MNEMONIC_FILE=./wallet.mnemonic bounty-bot wallet create", "bounty-bot wallet create"],
  parse: () => undefined,
  async run(_input, ctx) {
    const file = ctx.env.WALLET_MNEMONIC_FILE?.trim() || undefined;
    if (ctx.env.WALLET_MNEMONIC?.trim()) {
      throw new Error("a wallet is already configured (WALLET_MNEMONIC is set); nothing was created. Unset it to create another, and keep the old words: its coins are spendable only with them");
    }
    if (file && (await exists(file))) {
      throw new Error(`a wallet is already configured: WALLET_MNEMONIC_FILE ${file} exists; nothing was written. Point WALLET_MNEMONIC_FILE at a new path to create another`);
    }
    const mnemonic = generateMnemonic(english, 256);
    // The rest of the wallet settings are checked, and the address derived, before anything is written.
    const config = loadWalletConfig({ ...ctx.env, WALLET_MNEMONIC: mnemonic, WALLET_MNEMONIC_FILE: undefined });
    const keys = WalletKeys.fromMnemonic(config.mnemonic.reveal(), {
      network: config.network,
      script: config.script,
      passphrase: config.passphrase.reveal(),
    });
    // What a fresh payout wallet hands out first (PayoutWallet.receiveAddress on an empty state).
    const address = keys.address({ chain: RECEIVE, index: 0 });
    if (file) {
      await writeExclusive(file, `${mnemonic}\n`);
      ctx.out(`Wrote a new 24-word wallet mnemonic to ${file} (mode 0600). It is not shown here.`);
    } else {
      ctx.out("A new 24-word wallet mnemonic. It is shown this once and stored nowhere: copy it now.");
      ctx.out("");
      ctx.out(`  ${mnemonic}`);
    }
    storageAdvice(ctx, file);
    ctx.out("");
    ctx.out(`First receive address (${networkLabel(config.network)}, ${config.script}, ${keys.accountPath}/0/0): ${address}`);
    ctx.out("Send coins there to fund payouts; `bounty-bot wallet address` hands out further ones.");
    return 0;
  },
});

function storageAdvice(ctx: CliContext, file: string | undefined): void {
  const from = file ?? "<a file holding the words>";
  ctx.out("");
  ctx.out("Store it where only the app and its operators can read it, and never in git:");
  ctx.out(`  - a Kubernetes Secret: kubectl create secret generic bounty-bot-wallet --from-file=mnemonic=${from}`);
  ctx.out("    mounted as a file, with WALLET_MNEMONIC_FILE set to its path;");
  ctx.out("  - or a password manager, and WALLET_MNEMONIC_FILE (or WALLET_MNEMONIC) set from it.");
  ctx.out("Anyone with these words can spend the wallet's coins; without them the coins are lost.");
}

async function exists(path: string): Promise<boolean> {
  return fs.lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return false;
      throw new Error(`WALLET_MNEMONIC_FILE: cannot check ${path} (${err.code ?? "error"})`);
    },
  );
}

/** Creates `path` with `text`, mode 0600; never replaces a file, even one made a moment ago by another process. */
async function writeExclusive(path: string, text: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    // "wx": O_CREAT | O_EXCL, which also refuses a symlink in its place.
    handle = await fs.open(path, "wx", 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new Error(`a wallet is already configured: WALLET_MNEMONIC_FILE ${path} exists; nothing was written`);
    throw new Error(`WALLET_MNEMONIC_FILE: cannot create ${path} (${code ?? "error"}); nothing was written`);
  }
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
    await handle.close();
  } catch (err) {
    // Half a mnemonic is worse than none: the file was ours alone, so it goes.
    await handle.close().catch(() => undefined);
    await fs.unlink(path).catch(() => undefined);
    throw new Error(`WALLET_MNEMONIC_FILE: cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? "error"}); nothing was kept`);
  }
}
