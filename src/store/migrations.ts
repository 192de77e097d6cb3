import type { Db } from "./db.js";

/**
 * Versioned schema. Append new entries; never edit one that has shipped.
 * The same SQL runs on PGlite and PostgreSQL.
 */
export const MIGRATIONS: Array<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "inbox, ledger, events, wallets, outbox",
    sql: `
      -- Every webhook is stored here before GitHub gets its 2xx, then processed from here.
      CREATE TABLE webhook_inbox (
        delivery_id     text PRIMARY KEY,
        event           text NOT NULL,
        action          text,
        installation_id bigint,
        payload         jsonb NOT NULL,
        received_at     timestamptz NOT NULL DEFAULT now(),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        processed_at    timestamptz,
        outcome         text,
        last_error      text
      );
      CREATE INDEX webhook_inbox_pending ON webhook_inbox (received_at) WHERE processed_at IS NULL;

      -- One bounty per issue; its pledges say who offers what.
      CREATE TABLE bounties (
        id                  bigserial PRIMARY KEY,
        installation_id     bigint NOT NULL,
        repo_id             bigint NOT NULL,
        repo_owner          text NOT NULL,
        repo_name           text NOT NULL,
        issue_number        integer NOT NULL,
        issue_title         text NOT NULL DEFAULT '',
        status              text NOT NULL DEFAULT 'open'
                            CHECK (status IN ('open', 'awarded', 'paid', 'confirmed', 'cancelled')),
        status_reason       text,
        -- The card: one bot comment per issue, edited in place.
        card_comment_id     bigint,
        card_version        bigint NOT NULL DEFAULT 1,
        card_synced_version bigint NOT NULL DEFAULT 0,
        card_lease_until    timestamptz,
        label_name          text NOT NULL DEFAULT 'bounty',
        label_applied       boolean NOT NULL DEFAULT false,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now(),
        UNIQUE (repo_id, issue_number)
      );
      CREATE INDEX bounties_card_stale ON bounties (id) WHERE card_synced_version < card_version;

      CREATE TABLE pledges (
        id           bigserial PRIMARY KEY,
        bounty_id    bigint NOT NULL REFERENCES bounties (id),
        -- 'user:<github id>' for a person, 'label:<name>' for a label pledge made by the app itself.
        funder_key   text NOT NULL,
        funder_id    bigint,
        funder_login text NOT NULL,
        currency     text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        status       text NOT NULL DEFAULT 'open'
                     CHECK (status IN ('open', 'withdrawn', 'cancelled', 'awarded')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        -- At most one pledge per funder per issue: a second /bounty replaces the first.
        UNIQUE (bounty_id, funder_key)
      );

      -- Append-only audit log: every change to a bounty or a wallet, with who, when and which delivery.
      CREATE TABLE events (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        bounty_id   bigint REFERENCES bounties (id),
        user_id     bigint,
        actor_id    bigint,
        actor_login text NOT NULL,
        kind        text NOT NULL,
        data        jsonb NOT NULL DEFAULT '{}'::jsonb,
        delivery_id text
      );
      CREATE INDEX events_bounty ON events (bounty_id, id);
      CREATE INDEX events_user ON events (user_id, id);
      CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'events are append-only'; END $$;
      CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only();

      -- Where a person's payouts go, keyed by numeric GitHub id (logins can be renamed).
      CREATE TABLE wallets (
        user_id      bigint PRIMARY KEY,
        login        text NOT NULL,
        kind         text NOT NULL CHECK (kind IN ('address', 'charity')),
        address      text NOT NULL,
        address_type text NOT NULL,
        network      text NOT NULL,
        charity_id   text,
        charity_name text,
        updated_at   timestamptz NOT NULL DEFAULT now()
      );

      -- GitHub writes other than the card (replies, reactions), recorded in the same transaction
      -- as the change they report, then sent; dedupe_key makes a redelivery write nothing twice.
      CREATE TABLE outbox (
        id              bigserial PRIMARY KEY,
        dedupe_key      text NOT NULL UNIQUE,
        installation_id bigint NOT NULL,
        repo_owner      text NOT NULL,
        repo_name       text NOT NULL,
        kind            text NOT NULL CHECK (kind IN ('reply', 'reaction')),
        issue_number    integer NOT NULL,
        comment_id      bigint,
        body            text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        sent_at         timestamptz,
        last_error      text
      );
      CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
    `,
  },
  {
    version: 2,
    name: "claims, awards, payouts, payout transactions, wallet state",
    sql: `
      -- How the issue was closed: an award needs 'completed'.
      ALTER TABLE bounties ADD COLUMN issue_state text NOT NULL DEFAULT 'open'
        CHECK (issue_state IN ('open', 'completed', 'not_planned'));
      ALTER TABLE bounties ADD COLUMN issue_closed_at timestamptz;

      -- A merged pull request that says it closes an issue. Kept whether or not the issue has a
      -- bounty yet, because the issue's own 'closed' webhook may arrive before or after.
      CREATE TABLE claims (
        id              bigserial PRIMARY KEY,
        installation_id bigint NOT NULL,
        repo_id         bigint NOT NULL,
        issue_number    integer NOT NULL,
        pr_repo_id      bigint NOT NULL,
        pr_owner        text NOT NULL,
        pr_repo         text NOT NULL,
        pr_number       integer NOT NULL,
        pr_title        text NOT NULL DEFAULT '',
        merge_sha       text,
        merged_at       timestamptz NOT NULL,
        -- Who did the work: [{"id": 1, "login": "octocat", "bps": 10000}], shares summing to 10000.
        recipients      jsonb NOT NULL,
        state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'awarded', 'reverted')),
        delivery_id     text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (repo_id, issue_number, pr_repo_id, pr_number)
      );
      CREATE INDEX claims_pr ON claims (pr_repo_id, pr_number);

      -- Signed payout transactions. A row is written in the same database transaction that moves
      -- its payouts to 'signed', before the transaction is broadcast.
      CREATE TABLE payout_txs (
        id               bigserial PRIMARY KEY,
        txid             text NOT NULL UNIQUE,
        hex              text NOT NULL,
        network          text NOT NULL,
        fee_sats         bigint NOT NULL CHECK (fee_sats >= 0),
        fee_rate_sat_kvb bigint NOT NULL,
        vsize            integer NOT NULL,
        payout_sats      bigint NOT NULL,
        -- ["txid:vout", …]: while this transaction is live, these coins are not offered to coin selection.
        inputs           jsonb NOT NULL,
        -- [{"payout_id": "1", "vout": 0, "sats": "5000", "address": "…"}]: kept when payouts move on.
        outputs          jsonb NOT NULL,
        change           jsonb,
        day_utc          text NOT NULL,
        state            text NOT NULL DEFAULT 'signed'
                         CHECK (state IN ('signed', 'broadcast', 'confirmed', 'replaced')),
        state_reason     text,
        signed_at        timestamptz NOT NULL DEFAULT now(),
        broadcast_at     timestamptz,
        confirmed_at     timestamptz,
        block_height     integer,
        last_error       text
      );

      -- One payment to one address: a recipient's balance (one or more awards) once it is due.
      CREATE TABLE payouts (
        id           bigserial PRIMARY KEY,
        payee_kind   text NOT NULL CHECK (payee_kind IN ('user', 'charity')),
        -- The contributor the money is for (also when it goes to a charity on their behalf).
        user_id      bigint,
        login        text,
        charity_id   text,
        charity_name text,
        address      text NOT NULL,
        address_type text NOT NULL,
        network      text NOT NULL,
        sats         bigint NOT NULL CHECK (sats > 0),
        state        text NOT NULL
                     CHECK (state IN ('awaiting_approval', 'queued', 'signed', 'broadcast', 'confirmed')),
        tx_id        bigint REFERENCES payout_txs (id),
        vout         integer,
        -- Why it is waiting (no funds, over a cap, backend down), for operators.
        wait_reason  text,
        approved_by  text,
        approved_at  timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX payouts_state ON payouts (state, id);

      -- One recipient's share of a bounty. held (waiting out payout.hold) → credited (priced in sats,
      -- on the recipient's balance) → in a payout (payout_id set); or cancelled (e.g. a revert).
      CREATE TABLE awards (
        id                bigserial PRIMARY KEY,
        bounty_id         bigint NOT NULL REFERENCES bounties (id),
        recipient_id      bigint NOT NULL,
        recipient_login   text NOT NULL,
        share_bps         integer NOT NULL CHECK (share_bps > 0 AND share_bps <= 10000),
        -- This share of each pledged currency: [{"currency": "USD", "minor": "500"}].
        amounts           jsonb NOT NULL,
        source            text NOT NULL CHECK (source IN ('merge', 'command')),
        claim_id          bigint REFERENCES claims (id),
        pr_owner          text,
        pr_repo           text,
        pr_number         integer,
        hold_until        timestamptz NOT NULL,
        state             text NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'credited', 'cancelled')),
        cancel_reason     text,
        sats              bigint CHECK (sats > 0),
        -- The prices used: {"USD": {"price": "60000.12", "sources": ["coinbase", …], "at": "…"}}.
        rates             jsonb,
        priced_at         timestamptz,
        -- config payout.unclaimed when awarded: {"id", "name", "address"}, or null.
        unclaimed_charity jsonb,
        wallet_asked_at   timestamptz,
        payout_id         bigint REFERENCES payouts (id),
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX awards_bounty ON awards (bounty_id);
      CREATE INDEX awards_open ON awards (state, hold_until) WHERE payout_id IS NULL AND state <> 'cancelled';

      -- Derivation indexes handed out, per wallet account ("<network>/<account path>") and chain.
      CREATE TABLE wallet_indexes (
        wallet     text NOT NULL,
        chain      integer NOT NULL CHECK (chain IN (0, 1)),
        next_index integer NOT NULL CHECK (next_index >= 0),
        PRIMARY KEY (wallet, chain)
      );

      -- Spending counted against PAYOUT_DAILY_CAP_SATS, reserved before signing.
      CREATE TABLE spend_reservations (
        txid       text PRIMARY KEY,
        day_utc    text NOT NULL,
        sats       bigint NOT NULL CHECK (sats >= 0),
        payout_ids jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX spend_reservations_day ON spend_reservations (day_utc);
    `,
  },
  {
    version: 3,
    name: "fee bumping: input keys and replacement chains of payout transactions",
    sql: `
      -- [{"txid", "vout", "sats", "chain", "index"}]: what a fee bump needs to sign the same inputs again.
      ALTER TABLE payout_txs ADD COLUMN input_refs jsonb;
      -- A fee bump (RBF) names the transaction it replaces; both stay live until one confirms.
      ALTER TABLE payout_txs ADD COLUMN replaces_tx_id bigint REFERENCES payout_txs (id);
    `,
  },
];

/** Applies pending migrations; an advisory lock keeps two starting processes from racing. */
export async function migrate(db: Db): Promise<number[]> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(724200101)");
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await tx.query<{ version: number }>("SELECT version FROM schema_migrations")).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
      applied.push(m.version);
    }
    return applied;
  });
}
