import type { Queryable } from "./db.js";
import { refreshUnpaidCards } from "./awards.js";
import { appendEvent, type Cause } from "./bounties.js";

export interface Wallet {
  userId: number;
  login: string;
  kind: "address" | "charity";
  address: string;
  addressType: string;
  network: string;
  charityId: string | null;
  charityName: string | null;
  updatedAt: Date;
}

type Row = {
  user_id: bigint;
  login: string;
  kind: "address" | "charity";
  address: string;
  address_type: string;
  network: string;
  charity_id: string | null;
  charity_name: string | null;
  updated_at: Date;
};

export async function getWallet(db: Queryable, userId: number): Promise<Wallet | null> {
  const rows = await db.query<Row>("SELECT * FROM wallets WHERE user_id = $1", [userId]);
  const r = rows[0];
  if (!r) return null;
  return {
    userId: Number(r.user_id),
    login: r.login,
    kind: r.kind,
    address: r.address,
    addressType: r.address_type,
    network: r.network,
    charityId: r.charity_id,
    charityName: r.charity_name,
    updatedAt: new Date(r.updated_at),
  };
}

export async function setWallet(
  tx: Queryable,
  w: Omit<Wallet, "updatedAt">,
  cause: Cause,
): Promise<{ previous: Wallet | null }> {
  const previous = await getWallet(tx, w.userId);
  await tx.query(
    `INSERT INTO wallets (user_id, login, kind, address, address_type, network, charity_id, charity_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (user_id) DO UPDATE SET login = EXCLUDED.login, kind = EXCLUDED.kind, address = EXCLUDED.address,
       address_type = EXCLUDED.address_type, network = EXCLUDED.network, charity_id = EXCLUDED.charity_id,
       charity_name = EXCLUDED.charity_name, updated_at = now()`,
    [w.userId, w.login, w.kind, w.address, w.addressType, w.network, w.charityId, w.charityName],
  );
  await appendEvent(tx, {
    userId: w.userId,
    kind: "wallet_linked",
    data: {
      kind: w.kind,
      address: w.address,
      address_type: w.addressType,
      network: w.network,
      charity_id: w.charityId,
      previous: previous ? { kind: previous.kind, address: previous.address, charity_id: previous.charityId } : null,
    },
    cause,
  });
  // Cards that say "paid once @x links a wallet" or state the minimum for the old address type.
  await refreshUnpaidCards(tx, w.userId, cause);
  return { previous };
}

export async function removeWallet(tx: Queryable, userId: number, cause: Cause): Promise<Wallet | null> {
  const previous = await getWallet(tx, userId);
  if (!previous) return null;
  await tx.query("DELETE FROM wallets WHERE user_id = $1", [userId]);
  await appendEvent(tx, {
    userId,
    kind: "wallet_removed",
    data: { kind: previous.kind, address: previous.address, charity_id: previous.charityId },
    cause,
  });
  await refreshUnpaidCards(tx, userId, cause);
  return previous;
}
