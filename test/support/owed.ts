import { earningsOf, fundsOf, TREASURY, WALLET } from "../../src/ledger/rules.js";
import type { Db } from "../../src/store/db.js";
import { transferNow } from "../../src/store/ledger.js";
import { setWallet } from "../../src/store/wallets.js";

export const TESTNET_ADDRESS = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
export const REGTEST_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

let n = 0;

/** A person the app owes: a linked wallet (so their login is known) and sats on the ledger. */
export async function owe(
  db: Db,
  who: { id: number; login: string },
  sats: { funds?: bigint; earnings?: bigint },
  address = REGTEST_ADDRESS,
): Promise<void> {
  await db.transaction((tx) =>
    setWallet(
      tx,
      { userId: who.id, login: who.login, kind: "address", address, addressType: "p2wpkh", network: address.startsWith("tb1") ? "testnet" : "regtest", charityId: null, charityName: null },
      { actor: who, deliveryId: `solvency-test-${++n}` },
    ),
  );
  await credit(db, who.id, sats);
}

/** More sats for someone: a deposit to their funds, an award to their earnings. */
export async function credit(db: Db, userId: number, sats: { funds?: bigint; earnings?: bigint }): Promise<void> {
  if (sats.funds) {
    const r = await transferNow(db, { key: `test-deposit-${userId}-${++n}`, debit: WALLET, credit: fundsOf(userId), sats: sats.funds, kind: "deposit" });
    if (!r.ok) throw new Error(r.reason);
  }
  if (sats.earnings) {
    const r = await transferNow(db, { key: `test-award-${userId}-${++n}`, debit: TREASURY, credit: earningsOf(userId), sats: sats.earnings, kind: "award" });
    if (!r.ok) throw new Error(r.reason);
  }
}
