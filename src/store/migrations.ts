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
  {
    version: 4,
    name: "intake: object keys, parked deliveries, pruned payloads",
    sql: `
      -- The GitHub object a delivery acts on (core/webhooks.ts objectKey): a body replayed under a
      -- fresh delivery id finds its key taken and is stored as a duplicate that does nothing.
      ALTER TABLE webhook_inbox ADD COLUMN object_key text;
      CREATE UNIQUE INDEX webhook_inbox_object_key ON webhook_inbox (object_key) WHERE object_key IS NOT NULL;
      ALTER TABLE webhook_inbox ADD COLUMN duplicate_of text;
      -- Retries spent: parked (not processed) until GitHub redelivers it or an operator retries it.
      ALTER TABLE webhook_inbox ADD COLUMN parked_at timestamptz;
      UPDATE webhook_inbox SET parked_at = processed_at, processed_at = NULL WHERE outcome = 'failed';
      -- Pruning keeps a tombstone (ids, object key, outcome) and drops the payload.
      ALTER TABLE webhook_inbox ALTER COLUMN payload DROP NOT NULL;
      DROP INDEX webhook_inbox_pending;
      CREATE INDEX webhook_inbox_pending ON webhook_inbox (received_at) WHERE processed_at IS NULL AND parked_at IS NULL;
      CREATE INDEX webhook_inbox_parked ON webhook_inbox (parked_at) WHERE parked_at IS NOT NULL;
      CREATE INDEX webhook_inbox_processed ON webhook_inbox (processed_at) WHERE processed_at IS NOT NULL AND payload IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: "claims: when issues were last opened; claims dropped by a reopening or a not-planned close",
    sql: `
      -- When each issue was last (re)opened, by GitHub's clock: claims from merges before it never count.
      -- Kept whether or not the issue has a bounty, as claims are.
      CREATE TABLE issue_openings (
        repo_id      bigint NOT NULL,
        issue_number integer NOT NULL,
        opened_at    timestamptz NOT NULL,
        PRIMARY KEY (repo_id, issue_number)
      );
      -- 'dropped': the issue was closed as not planned, or reopened after the claim's merge.
      ALTER TABLE claims DROP CONSTRAINT claims_state_check;
      ALTER TABLE claims ADD CONSTRAINT claims_state_check
        CHECK (state IN ('pending', 'awarded', 'reverted', 'dropped'));
    `,
  },
  {
    version: 6,
    name: "awards: self-dealing awards wait for an operator's approval",
    sql: `
      -- 'needed': the recipient pledged on the bounty (or made the award); never priced, credited or
      -- paid until \`bounty-bot awards approve\` sets 'approved'. NULL: no approval needed.
      ALTER TABLE awards ADD COLUMN approval text CHECK (approval IN ('needed', 'approved'));
      ALTER TABLE awards ADD COLUMN approval_reason text;
      ALTER TABLE awards ADD COLUMN approved_by text;
      ALTER TABLE awards ADD COLUMN approved_at timestamptz;
      ALTER TABLE awards ADD CONSTRAINT awards_approved_before_credit
        CHECK (approval IS DISTINCT FROM 'needed' OR state IN ('held', 'cancelled'));
    `,
  },
  {
    version: 7,
    name: "budgets: pledges priced at pledge time, counted per account and per funder",
    sql: `
      -- The account (lowercase owner login) whose ACCOUNT_BUDGETS entry a pledge counts against.
      ALTER TABLE pledges ADD COLUMN account text;
      -- The person whose funders.budget it counts against: the funder, or whoever added an
      -- auto label; null when a trusted bot added the label (account budget alone).
      ALTER TABLE pledges ADD COLUMN charged_user_id bigint;
      -- When the pledge took its current amount: budgets are rolling windows over this.
      ALTER TABLE pledges ADD COLUMN pledged_at timestamptz NOT NULL DEFAULT now();
      -- Its value at pledge time in each currency a budget was counted in: {"USD": "5000"}.
      ALTER TABLE pledges ADD COLUMN counted jsonb NOT NULL DEFAULT '{}'::jsonb;
      -- The prices used then (fiat per BTC): {"USD": "60000.1"}, and its value in sats when known.
      ALTER TABLE pledges ADD COLUMN rates jsonb;
      ALTER TABLE pledges ADD COLUMN value_sats bigint CHECK (value_sats >= 0);
      UPDATE pledges p SET account = lower(b.repo_owner), charged_user_id = p.funder_id, pledged_at = p.updated_at,
        value_sats = CASE WHEN p.currency = 'BTC' THEN p.amount_minor END
        FROM bounties b WHERE b.id = p.bounty_id;
      CREATE INDEX pledges_account_window ON pledges (account, pledged_at) WHERE status IN ('open', 'awarded');
      CREATE INDEX pledges_funder_window ON pledges (account, charged_user_id, pledged_at) WHERE status IN ('open', 'awarded');
    `,
  },
  {
    version: 8,
    name: "payouts: a payout over PAYOUT_MAX_TX_SATS waits for an operator's approval",
    sql: `
      -- 'requested': by itself over PAYOUT_MAX_TX_SATS, it waits (awaiting_approval) for
      -- \`bounty-bot payouts approve <id>\`; 'approved': it is sent in a transaction of its own, above
      -- that cap but within PAYOUT_DAILY_CAP_SATS. NULL: an ordinary payout.
      ALTER TABLE payouts ADD COLUMN over_tx_cap text CHECK (over_tx_cap IN ('requested', 'approved'));
      ALTER TABLE payouts ADD CONSTRAINT payouts_over_tx_cap_waits
        CHECK (over_tx_cap IS DISTINCT FROM 'requested' OR state = 'awaiting_approval');
    `,
  },
  {
    version: 9,
    name: "ledger: accounts and immutable two-phase transfers in sats",
    sql: `
      -- One row per account (src/ledger/rules.ts names them): its totals are updated in the same
      -- transaction as every transfer that touches it, under a row lock taken in key order.
      CREATE TABLE ledger_accounts (
        id              bigserial PRIMARY KEY,
        key             text NOT NULL UNIQUE,
        kind            text NOT NULL CHECK (kind IN ('wallet', 'treasury', 'fees', 'funds', 'earnings', 'escrow', 'charity', 'grant')),
        user_id         bigint,
        debits_posted   bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
        credits_posted  bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
        debits_pending  bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
        credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
        created_at      timestamptz NOT NULL DEFAULT now(),
        CHECK ((kind IN ('funds', 'earnings')) = (user_id IS NOT NULL))
      );
      CREATE INDEX ledger_accounts_user ON ledger_accounts (user_id) WHERE user_id IS NOT NULL;

      -- Every movement of money: never updated or deleted; a mistake is undone by a correcting transfer.
      -- phase: 'single' (posted at once), 'pending' (reserved), 'post' / 'void' (resolving a pending
      -- one, named by pending_id, exactly once).
      CREATE TABLE ledger_transfers (
        id                bigserial PRIMARY KEY,
        key               text NOT NULL UNIQUE,
        debit_account_id  bigint NOT NULL REFERENCES ledger_accounts (id),
        credit_account_id bigint NOT NULL REFERENCES ledger_accounts (id),
        sats              bigint NOT NULL CHECK (sats > 0),
        phase             text NOT NULL CHECK (phase IN ('single', 'pending', 'post', 'void')),
        pending_id        bigint UNIQUE REFERENCES ledger_transfers (id),
        timeout_at        timestamptz,
        kind              text NOT NULL,
        ref               jsonb NOT NULL DEFAULT '{}'::jsonb,
        at                timestamptz NOT NULL DEFAULT now(),
        CHECK (debit_account_id <> credit_account_id),
        CHECK ((phase IN ('post', 'void')) = (pending_id IS NOT NULL)),
        CHECK (timeout_at IS NULL OR phase = 'pending')
      );
      CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id, id);
      CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id, id);
      CREATE INDEX ledger_transfers_timeout ON ledger_transfers (timeout_at) WHERE timeout_at IS NOT NULL;
      -- An escrow's legs (store/escrow.ts), found by the escrow they reserve for.
      CREATE INDEX ledger_transfers_escrow ON ledger_transfers ((ref->>'escrow')) WHERE phase = 'pending';
      CREATE FUNCTION ledger_transfers_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'ledger transfers are immutable: record a correcting transfer'; END $$;
      CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE OR DELETE ON ledger_transfers
        FOR EACH ROW EXECUTE FUNCTION ledger_transfers_immutable();
      INSERT INTO ledger_accounts (key, kind) VALUES ('wallet', 'wallet'), ('treasury', 'treasury'), ('fees', 'fees');
    `,
  },
  {
    version: 10,
    name: "ledger: today's bounty flows, backfilled from awards, payouts and payout transactions",
    sql: `
      -- A payout's open reservation is found by its payout id (a requeued payout has a new one).
      CREATE INDEX ledger_transfers_payout ON ledger_transfers ((ref->>'payout')) WHERE kind = 'payout' AND phase = 'pending';

      -- The backfill writes what store/payouts.ts would have written had the ledger existed, with the
      -- same keys (see its header), so that every person's earnings available are their credited
      -- awards not in a payout and every payout's reservation matches its state. What it cannot know:
      -- coins the wallet received before the ledger (the treasury receipts are recorded from the
      -- chain's history by the receipts scan, treasury_receipt:<txid>:<vout>), a payout dissolved
      -- before (its row is gone; its awards are simply unpaid), and a payout requeued after a
      -- replaced transaction (only its current reservation is recorded, not the undone attempt).
      INSERT INTO ledger_accounts (key, kind, user_id)
        SELECT DISTINCT 'earnings:' || recipient_id, 'earnings', recipient_id FROM awards WHERE state = 'credited' AND sats > 0
        UNION SELECT DISTINCT 'earnings:' || user_id, 'earnings', user_id FROM payouts WHERE payee_kind = 'user' AND user_id IS NOT NULL
        ON CONFLICT (key) DO NOTHING;
      INSERT INTO ledger_accounts (key, kind)
        SELECT DISTINCT 'charity:' || charity_id, 'charity' FROM payouts WHERE payee_kind = 'charity' AND charity_id IS NOT NULL
        ON CONFLICT (key) DO NOTHING;

      -- award:<id>, treasury → earnings, for every credited award.
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref, at)
        SELECT 'award:' || a.id, t.id, e.id, a.sats, 'single', 'award', jsonb_build_object('award', a.id::text, 'backfill', '10'),
               coalesce(a.priced_at, a.updated_at)
        FROM awards a JOIN ledger_accounts t ON t.key = 'treasury' JOIN ledger_accounts e ON e.key = 'earnings:' || a.recipient_id
        WHERE a.state = 'credited' AND a.sats > 0
        ORDER BY a.id
        ON CONFLICT DO NOTHING;

      -- donation:<payout id>:<user id>, earnings → charity, for each donor of a charity payout.
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref, at)
        SELECT 'donation:' || p.id || ':' || a.recipient_id, e.id, c.id, sum(a.sats), 'single', 'donation',
               jsonb_build_object('payout', p.id::text, 'user', a.recipient_id::text, 'backfill', '10'), p.created_at
        FROM payouts p JOIN awards a ON a.payout_id = p.id
          JOIN ledger_accounts e ON e.key = 'earnings:' || a.recipient_id JOIN ledger_accounts c ON c.key = 'charity:' || p.charity_id
        WHERE p.payee_kind = 'charity'
        GROUP BY p.id, a.recipient_id, e.id, c.id, p.created_at
        ORDER BY p.id, a.recipient_id
        ON CONFLICT DO NOTHING;

      -- payout:<id>, pending, payer → wallet, for every payout; posted (payout:<id>:post) once signed.
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref, at)
        SELECT 'payout:' || p.id, CASE p.payee_kind WHEN 'charity' THEN c.id ELSE e.id END, w.id, p.sats, 'pending', 'payout',
               jsonb_build_object('payout', p.id::text, 'backfill', '10'), p.created_at
        FROM payouts p JOIN ledger_accounts w ON w.key = 'wallet'
          LEFT JOIN ledger_accounts e ON e.key = 'earnings:' || p.user_id LEFT JOIN ledger_accounts c ON c.key = 'charity:' || p.charity_id
        WHERE p.sats > 0
        ORDER BY p.id
        ON CONFLICT DO NOTHING;
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, pending_id, kind, ref, at)
        SELECT pt.key || ':post', pt.debit_account_id, pt.credit_account_id, pt.sats, 'post', pt.id, 'payout',
               jsonb_build_object('payout', p.id::text, 'txid', coalesce(x.txid, ''), 'backfill', '10'), coalesce(x.signed_at, p.updated_at)
        FROM payouts p JOIN ledger_transfers pt ON pt.key = 'payout:' || p.id LEFT JOIN payout_txs x ON x.id = p.tx_id
        WHERE p.state IN ('signed', 'broadcast', 'confirmed')
        ORDER BY p.id
        ON CONFLICT DO NOTHING;

      -- fee:<txid> and fee_paid:<txid>: each transaction's fee over the one it replaces (all of it for a first one).
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref, at)
        SELECT v.prefix || x.txid, v.debit, v.credit, x.fee_sats - coalesce(o.fee_sats, 0), 'single', v.kind,
               jsonb_build_object('txid', x.txid, 'backfill', '10'), x.signed_at
        FROM payout_txs x LEFT JOIN payout_txs o ON o.id = x.replaces_tx_id
          CROSS JOIN (SELECT 'fee:' AS prefix, 'fee' AS kind, 1 AS n, t.id AS debit, f.id AS credit
                      FROM ledger_accounts t, ledger_accounts f WHERE t.key = 'treasury' AND f.key = 'fees'
                      UNION ALL
                      SELECT 'fee_paid:', 'fee_paid', 2, f.id, w.id
                      FROM ledger_accounts f, ledger_accounts w WHERE f.key = 'fees' AND w.key = 'wallet') v
        WHERE x.fee_sats - coalesce(o.fee_sats, 0) > 0
        ORDER BY x.id, v.n
        ON CONFLICT DO NOTHING;

      -- The fee a replacement chain keeps is that of the transaction that confirmed (settleChainFees in
      -- store/payouts.ts): a transaction's fee stands while it or a bump of it confirmed, or, with none
      -- of its chain confirmed, may still confirm; every other one is undone (fee:<txid>:undo,
      -- fee_paid:<txid>:undo).
      WITH RECURSIVE pairs AS (
        SELECT id AS d, id AS a FROM payout_txs
        UNION ALL SELECT t.id, p.a FROM payout_txs t JOIN pairs p ON t.replaces_tx_id = p.d
      ), roots AS (
        SELECT p.d AS id, p.a AS root FROM pairs p JOIN payout_txs r ON r.id = p.a WHERE r.replaces_tx_id IS NULL
      ), standing AS (
        SELECT x.id FROM payout_txs x JOIN roots rx ON rx.id = x.id
        WHERE x.state = 'confirmed'
           OR (x.state IN ('signed', 'broadcast')
               AND NOT EXISTS (SELECT 1 FROM roots rc JOIN payout_txs c ON c.id = rc.id WHERE rc.root = rx.root AND c.state = 'confirmed'))
      ), dead AS (
        SELECT x.id, x.txid FROM payout_txs x
        WHERE NOT EXISTS (SELECT 1 FROM pairs p JOIN standing s ON s.id = p.d WHERE p.a = x.id)
      )
      INSERT INTO ledger_transfers (key, debit_account_id, credit_account_id, sats, phase, kind, ref, at)
        SELECT f.key || ':undo', f.credit_account_id, f.debit_account_id, f.sats, 'single', 'correction',
               jsonb_build_object('txid', d.txid, 'undoes', 'fee:' || d.txid, 'backfill', '10'), now()
        FROM dead d JOIN ledger_transfers f ON f.key IN ('fee:' || d.txid, 'fee_paid:' || d.txid)
        ORDER BY d.id, f.id
        ON CONFLICT DO NOTHING;

      -- Every account's totals from its transfers: posted (single, post) and still-open pending ones.
      UPDATE ledger_accounts a SET
        debits_posted = coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.phase IN ('single', 'post')), 0),
        credits_posted = coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.phase IN ('single', 'post')), 0),
        debits_pending = coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.debit_account_id = a.id AND t.phase = 'pending'
                                   AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)), 0),
        credits_pending = coalesce((SELECT sum(t.sats) FROM ledger_transfers t WHERE t.credit_account_id = a.id AND t.phase = 'pending'
                                    AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)), 0);
    `,
  },
  {
    version: 11,
    name: "deposits: deposit addresses per person and the outpoints credited from the chain",
    sql: `
      -- The next index on each wallet's deposit chain (wallet = the deposit account's xpub).
      CREATE TABLE deposit_wallets (
        wallet     text PRIMARY KEY,
        next_index integer NOT NULL CHECK (next_index >= 0)
      );
      -- Deposit addresses handed out by /deposit: one per person and wallet until it receives.
      -- Where they asked is where the bot confirms their deposits.
      CREATE TABLE deposit_addresses (
        id               bigserial PRIMARY KEY,
        wallet           text NOT NULL REFERENCES deposit_wallets (wallet),
        derivation_index integer NOT NULL CHECK (derivation_index >= 0),
        address          text NOT NULL UNIQUE,
        user_id          bigint NOT NULL,
        login            text NOT NULL,
        installation_id  bigint NOT NULL,
        repo_owner       text NOT NULL,
        repo_name        text NOT NULL,
        issue_number     integer NOT NULL,
        issued_at        timestamptz NOT NULL,
        received_at      timestamptz,
        UNIQUE (wallet, derivation_index)
      );
      CREATE UNIQUE INDEX deposit_addresses_current ON deposit_addresses (wallet, user_id) WHERE received_at IS NULL;
      -- Every output seen paying a deposit address or a receive address of the wallet. generation
      -- counts its credits (deposit:<txid>:<vout>:<generation>); state says whether the latest
      -- one stands ('credited') or was reversed after a reorganisation ('reversed').
      CREATE TABLE deposit_outpoints (
        txid        text NOT NULL,
        vout        integer NOT NULL CHECK (vout >= 0),
        wallet      text NOT NULL,
        address     text NOT NULL,
        owner       text NOT NULL CHECK (owner IN ('deposit', 'treasury')),
        address_id  bigint REFERENCES deposit_addresses (id),
        user_id     bigint,
        sats        bigint NOT NULL CHECK (sats > 0),
        generation  integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
        state       text NOT NULL CHECK (state IN ('seen', 'credited', 'reversed')),
        seen_at     timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL,
        PRIMARY KEY (txid, vout),
        CHECK ((owner = 'deposit') = (user_id IS NOT NULL AND address_id IS NOT NULL)),
        CHECK ((state = 'seen') = (generation = 0))
      );
    `,
  },
  {
    version: 12,
    name: "solvency: the latest check before a payout run, for payouts list",
    sql: `
      -- One row: whether the last check before a payout run passed, and why not (src/ledger/solvency.ts).
      CREATE TABLE solvency_state (
        id         boolean PRIMARY KEY DEFAULT true CHECK (id),
        checked_at timestamptz NOT NULL,
        ok         boolean NOT NULL,
        problems   jsonb NOT NULL,
        summary    text NOT NULL
      );
    `,
  },
  {
    version: 13,
    name: "solvency: the secret that salts the public liabilities tree",
    sql: `
      -- One random key, made here once per database and never shown: the salt of each person's leaf
      -- in GET /api/v1/solvency is HMAC(key, report ‖ person), so no one can find whose a leaf is.
      -- gen_random_uuid() draws on the server's strong random source; two give 244 random bits.
      CREATE TABLE solvency_secret (
        id         boolean PRIMARY KEY DEFAULT true CHECK (id),
        key        bytea NOT NULL CHECK (length(key) = 32),
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO solvency_secret (key)
        VALUES (sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')));
    `,
  },
  {
    version: 14,
    name: "withdrawals: payouts of a person's own funds (/withdraw), which pay their output's share of the fee",
    sql: `
      -- source 'funds': a /withdraw, paid from funds:<user> (payout:<id> reserves requested_sats). At
      -- signing its output pays requested_sats - fee_share_sats (the output's vbytes at the batch's
      -- rate) and sats becomes that output; queued again after a replaced transaction, sats goes back
      -- to requested_sats. ask: where they asked (the issue the payout comment goes to).
      ALTER TABLE payouts ADD COLUMN source text NOT NULL DEFAULT 'earnings' CHECK (source IN ('earnings', 'funds'));
      ALTER TABLE payouts ADD COLUMN requested_sats bigint CHECK (requested_sats > 0);
      ALTER TABLE payouts ADD COLUMN fee_share_sats bigint CHECK (fee_share_sats >= 0);
      ALTER TABLE payouts ADD COLUMN request_key text UNIQUE;
      ALTER TABLE payouts ADD COLUMN ask jsonb;
      ALTER TABLE payouts ADD CONSTRAINT payouts_withdrawal_shape CHECK (
        (source = 'funds') = (requested_sats IS NOT NULL AND request_key IS NOT NULL AND ask IS NOT NULL AND user_id IS NOT NULL)
        AND (source = 'funds' OR fee_share_sats IS NULL)
        AND (fee_share_sats IS NULL OR sats + fee_share_sats = requested_sats));
      -- One withdrawal not yet signed per person.
      CREATE UNIQUE INDEX payouts_open_withdrawal ON payouts (user_id) WHERE source = 'funds' AND state IN ('awaiting_approval', 'queued');
      -- A withdrawal's fee shares (fee:<txid>:withdrawal:<payout id>), found by transaction when its fee is undone.
      CREATE INDEX ledger_transfers_fee_share ON ledger_transfers ((ref->>'txid')) WHERE kind = 'fee' AND ref->>'share' = 'withdrawal';
    `,
  },
  {
    version: 15,
    name: "backed pledges: a non-funder's pledge escrowed from their own balance",
    sql: `
      -- A backed pledge (by someone who may not fund) holds backed_sats, fixed when it was made (at
      -- backed_rate, fiat per BTC, for a pledge in fiat), in escrow:pledge:<id>.<backed_version>: the
      -- version grows with each /bounty that replaces it, since ledger keys are forever. The backer
      -- is the funder (funder_id). It counts against no treasury budget.
      ALTER TABLE pledges ADD COLUMN backed_sats bigint CHECK (backed_sats > 0);
      ALTER TABLE pledges ADD COLUMN backed_rate text;
      ALTER TABLE pledges ADD COLUMN backed_version integer NOT NULL DEFAULT 0;
      -- Each award's part of every backed pledge it was awarded ([{"pledge", "escrow", "backer", "sats"}]),
      -- fixed when it is made; its amounts hold those sats too (in BTC), so its sats at credit are the
      -- treasury's part priced plus these, and the credit passes these on from the escrows.
      ALTER TABLE awards ADD COLUMN backed jsonb NOT NULL DEFAULT '[]'::jsonb;
    `,
  },
  {
    version: 16,
    name: "budgets: the treasury's spends other than pledges (questions, tips, surveys) counted against budgets",
    sql: `
      -- One row per spend a funder makes from the treasury besides pledges; a budget's window sums
      -- these with open and awarded pledges (store/bounties.ts spentInWindow). A refund releases it.
      CREATE TABLE budget_charges (
        id              bigserial PRIMARY KEY,
        key             text NOT NULL UNIQUE,
        kind            text NOT NULL CHECK (kind IN ('question', 'tip', 'survey')),
        account         text NOT NULL,
        charged_user_id bigint,
        currency        text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
        counted         jsonb NOT NULL DEFAULT '{}'::jsonb,
        rates           jsonb,
        charged_at      timestamptz NOT NULL,
        released_at     timestamptz
      );
      CREATE INDEX budget_charges_window ON budget_charges (account, charged_user_id, charged_at) WHERE released_at IS NULL;
    `,
  },
  {
    version: 17,
    name: "paid questions: prices, questions, answers; generic cards keyed by what they show",
    sql: `
      -- One bot comment per thing shown (question:<id>, later survey:<id>), edited in place: the same
      -- version/lease bookkeeping as the bounty card, keyed by the card's key instead of a bounty row.
      CREATE TABLE cards (
        key             text PRIMARY KEY,
        installation_id bigint NOT NULL,
        repo_owner      text NOT NULL,
        repo_name       text NOT NULL,
        issue_number    integer NOT NULL,
        comment_id      bigint,
        version         bigint NOT NULL DEFAULT 1,
        synced_version  bigint NOT NULL DEFAULT 0,
        lease_until     timestamptz,
        updated_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX cards_stale ON cards (updated_at) WHERE synced_version < version;

      -- What a person charges to answer a question (/price), by numeric GitHub id.
      CREATE TABLE question_prices (
        user_id      bigint PRIMARY KEY,
        login        text NOT NULL,
        currency     text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        charity_id   text,
        updated_at   timestamptz NOT NULL DEFAULT now()
      );

      -- One paid question (/ask): to a person, or to a team or list (slots = first N), escrowed
      -- on the ledger as escrow:question:<id> with one slot per answer it pays.
      CREATE TABLE questions (
        id               bigserial PRIMARY KEY,
        ask_key          text NOT NULL UNIQUE,
        installation_id  bigint NOT NULL,
        repo_id          bigint NOT NULL,
        repo_owner       text NOT NULL,
        repo_name        text NOT NULL,
        issue_number     integer NOT NULL,
        ask_comment_id   bigint NOT NULL,
        asker_id         bigint NOT NULL,
        asker_login      text NOT NULL,
        target_kind      text NOT NULL CHECK (target_kind IN ('person', 'team', 'list')),
        target           text NOT NULL,
        asked_id         bigint,
        members          jsonb NOT NULL DEFAULT '[]'::jsonb,
        about            text NOT NULL DEFAULT '',
        currency         text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
        sats             bigint NOT NULL CHECK (sats > 0),
        slots            integer NOT NULL CHECK (slots > 0),
        payer            text NOT NULL CHECK (payer IN ('treasury', 'person')),
        min_reply_chars  integer NOT NULL,
        state            text NOT NULL DEFAULT 'open'
                         CHECK (state IN ('open', 'answered', 'expired', 'cancelled', 'declined')),
        returned_sats    bigint NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL,
        expires_at       timestamptz NOT NULL,
        closed_at        timestamptz
      );
      CREATE INDEX questions_open_issue ON questions (repo_id, issue_number) WHERE state = 'open';
      CREATE INDEX questions_open_asker ON questions (repo_owner, asker_id) WHERE state = 'open';
      CREATE INDEX questions_expiry ON questions (expires_at) WHERE state = 'open';

      -- Each paid answer: a comment counts once per question, a person once per question.
      CREATE TABLE question_answers (
        id              bigserial PRIMARY KEY,
        question_id     bigint NOT NULL REFERENCES questions (id),
        slot            integer NOT NULL,
        responder_id    bigint NOT NULL,
        responder_login text NOT NULL,
        comment_id      bigint NOT NULL,
        sats            bigint NOT NULL CHECK (sats > 0),
        charity_id      text,
        answered_at     timestamptz NOT NULL,
        UNIQUE (question_id, slot),
        UNIQUE (question_id, responder_id),
        UNIQUE (question_id, comment_id)
      );
    `,
  },
  {
    version: 18,
    name: "tips: one row per /tip, its escrow held until tips.hold passes, then released or taken back",
    sql: `
      -- A tip is keyed by the comment that made it and its place among that comment's /tip lines
      -- (<comment_id>.<position>: escrow:tip:<key> on the ledger, tip:<key> in budget_charges), so
      -- a redelivery or a replay records nothing twice. The sats are fixed when it is made (at
      -- rate, fiat per BTC, for a tip in fiat); payable_at is when the release sweep pays them.
      CREATE TABLE tips (
        id              bigserial PRIMARY KEY,
        comment_id      bigint NOT NULL,
        position        integer NOT NULL CHECK (position >= 0),
        tipper_id       bigint NOT NULL,
        tipper_login    text NOT NULL,
        recipient_id    bigint NOT NULL CHECK (recipient_id <> tipper_id),
        recipient_login text NOT NULL,
        installation_id bigint NOT NULL,
        repo_id         bigint NOT NULL,
        repo_owner      text NOT NULL,
        repo_name       text NOT NULL,
        issue_number    integer NOT NULL,
        currency        text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
        sats            bigint NOT NULL CHECK (sats > 0),
        rate            text CHECK ((currency = 'BTC') = (rate IS NULL)),
        payer           text NOT NULL CHECK (payer IN ('treasury', 'person')),
        state           text NOT NULL CHECK (state IN ('held', 'released', 'cancelled')),
        payable_at      timestamptz NOT NULL,
        reason          text,
        created_at      timestamptz NOT NULL,
        settled_at      timestamptz,
        -- The /tip cancel that took it back (<comment_id>.<position>), so that command runs once.
        cancel_key      text UNIQUE,
        UNIQUE (comment_id, position),
        CHECK ((state = 'held') = (settled_at IS NULL)),
        CHECK ((state = 'cancelled') = (cancel_key IS NOT NULL))
      );
      CREATE INDEX tips_due ON tips (payable_at, id) WHERE state = 'held';
      CREATE INDEX tips_by_tipper ON tips (repo_id, issue_number, tipper_id, id);
    `,
  },
  {
    version: 19,
    name: "paid surveys: one row per /survey, escrowed in slots, and the responses paid",
    sql: `
      -- A survey (/survey <amount> first N): escrow:survey:<id> on the ledger with one slot per
      -- response paid (survey:<id>:<slot> in budget_charges when the treasury pays). audience:
      -- members of the repository's organisation, or anyone with an account old enough.
      CREATE TABLE surveys (
        id                  bigserial PRIMARY KEY,
        open_key            text NOT NULL UNIQUE,
        installation_id     bigint NOT NULL,
        repo_id             bigint NOT NULL,
        repo_owner          text NOT NULL,
        repo_name           text NOT NULL,
        issue_number        integer NOT NULL,
        survey_comment_id   bigint NOT NULL,
        author_id           bigint NOT NULL,
        author_login        text NOT NULL,
        audience            text NOT NULL CHECK (audience IN ('members', 'anyone')),
        currency            text NOT NULL CHECK (currency IN ('USD', 'EUR', 'GBP', 'BTC')),
        amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
        sats                bigint NOT NULL CHECK (sats > 0),
        rate                text CHECK ((currency = 'BTC') = (rate IS NULL)),
        slots               integer NOT NULL CHECK (slots > 0),
        payer               text NOT NULL CHECK (payer IN ('treasury', 'person')),
        min_reply_chars     integer NOT NULL,
        min_account_age_ms  bigint NOT NULL,
        state               text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'full', 'closed')),
        returned_sats       bigint NOT NULL DEFAULT 0,
        created_at          timestamptz NOT NULL,
        closed_at           timestamptz,
        CHECK ((state = 'open') = (closed_at IS NULL))
      );
      CREATE INDEX surveys_open_issue ON surveys (repo_id, issue_number) WHERE state = 'open';
      CREATE INDEX surveys_by_issue ON surveys (lower(repo_owner), lower(repo_name), issue_number);

      -- Each paid response, with its text for the export: a comment counts once, a person once.
      CREATE TABLE survey_responses (
        id              bigserial PRIMARY KEY,
        survey_id       bigint NOT NULL REFERENCES surveys (id),
        slot            integer NOT NULL,
        responder_id    bigint NOT NULL,
        responder_login text NOT NULL,
        comment_id      bigint NOT NULL,
        body            text NOT NULL,
        sats            bigint NOT NULL CHECK (sats > 0),
        responded_at    timestamptz NOT NULL,
        UNIQUE (survey_id, slot),
        UNIQUE (survey_id, responder_id),
        UNIQUE (survey_id, comment_id)
      );
    `,
  },
  {
    version: 20,
    name: "GitHub Discussions: replies, reactions, cards, questions and surveys in a Discussion (its GraphQL node id)",
    sql: `
      -- Null: the thread is an issue (REST by number). Set: a Discussion, written through GraphQL
      -- by node id (addDiscussionComment, updateDiscussionComment, addReaction).
      ALTER TABLE outbox ADD COLUMN discussion_id text, ADD COLUMN comment_node_id text;
      ALTER TABLE cards ADD COLUMN discussion_id text, ADD COLUMN comment_node_id text;
      ALTER TABLE questions ADD COLUMN discussion_id text;
      ALTER TABLE surveys ADD COLUMN discussion_id text;
    `,
  },
  {
    version: 21,
    name: "api tokens and rewards",
    sql: `
      -- A CI system's key to the rewards API: only a hash of its secret is kept. Its budget is the
      -- ledger account grant:<id>, funded from the treasury once per period (counted from created_at).
      CREATE TABLE api_tokens (
        id              bigserial PRIMARY KEY,
        name            text NOT NULL UNIQUE,
        secret_hash     bytea NOT NULL,
        budget_currency text NOT NULL,
        budget_minor    bigint NOT NULL CHECK (budget_minor > 0),
        period_ms       bigint NOT NULL CHECK (period_ms > 0),
        -- lower-cased "owner/repo" or "owner/*"; null: any repository of the served accounts.
        repos           text[],
        cap_currency    text,
        cap_minor       bigint CHECK (cap_minor > 0),
        cap_period_ms   bigint CHECK (cap_period_ms > 0),
        -- The period last funded (0 at creation), the sats it was funded with, and the price (a fiat budget).
        period          bigint,
        period_sats     bigint,
        period_rate     text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        last_used_at    timestamptz,
        revoked_at      timestamptz
      );

      -- One reward: its row and its ledger transfer (reward:<token>:<key hash>) commit together,
      -- so a retry with the same Idempotency-Key finds it. Kept for good: keys never expire.
      CREATE TABLE api_rewards (
        id              bigserial PRIMARY KEY,
        token_id        bigint NOT NULL REFERENCES api_tokens (id),
        key_hash        text NOT NULL,
        request_hash    text NOT NULL,
        recipient_id    bigint NOT NULL,
        recipient_login text NOT NULL,
        sats            bigint NOT NULL CHECK (sats > 0),
        currency        text NOT NULL,
        minor           bigint NOT NULL CHECK (minor > 0),
        rate            text,
        reason          text NOT NULL,
        url             text,
        notify          text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (token_id, key_hash)
      );
      CREATE INDEX api_rewards_by_token ON api_rewards (token_id, id);
      CREATE INDEX api_rewards_by_recipient ON api_rewards (token_id, recipient_id, created_at);
      -- A reward's status is read from the first payout to its recipient after it.
      CREATE INDEX payouts_by_user ON payouts (user_id, created_at) WHERE payee_kind = 'user';
    `,
  },
  {
    version: 22,
    name: "the public board: issues' labels and assignees, repositories' visibility, people who left the board",
    sql: `
      -- What the board shows of an issue beyond its bounty, from the latest issues/issue_comment
      -- delivery about it (GitHub's assignees, set by Prow's /assign; its labels).
      CREATE TABLE board_issues (
        repo_id      bigint NOT NULL,
        issue_number integer NOT NULL,
        labels       text[] NOT NULL DEFAULT '{}',
        assignees    jsonb NOT NULL DEFAULT '[]'::jsonb,
        html_url     text,
        updated_at   timestamptz NOT NULL,
        PRIMARY KEY (repo_id, issue_number)
      );
      CREATE INDEX board_issues_labels ON board_issues USING gin (labels);
      -- repository.private as the deliveries last said: a private repository is left off the board
      -- (BOARD_PRIVATE_REPOS=on shows it); one never seen is treated as private.
      CREATE TABLE board_repos (
        repo_id    bigint PRIMARY KEY,
        full_name  text NOT NULL,
        private    boolean NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- /board hide: the person's page is gone and they are "anonymous" on the board; /board show undoes it.
      CREATE TABLE board_hidden (
        user_id   bigint PRIMARY KEY,
        login     text NOT NULL,
        hidden_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX board_hidden_login ON board_hidden (lower(login));
      -- The board's queries: open bounties by age, their open pledges, payouts newest first, earnings by time.
      CREATE INDEX bounties_board_open ON bounties (created_at DESC, id) WHERE status = 'open';
      CREATE INDEX pledges_board_open ON pledges (bounty_id) WHERE status = 'open';
      CREATE INDEX payouts_board_recent ON payouts (created_at DESC, id) WHERE tx_id IS NOT NULL;
      CREATE INDEX awards_board_credited ON awards (priced_at, recipient_id) WHERE state = 'credited';
      CREATE INDEX awards_board_recipient ON awards (lower(recipient_login));
      CREATE INDEX awards_board_payout ON awards (payout_id) WHERE payout_id IS NOT NULL;
      CREATE INDEX pledges_board_funder ON pledges (funder_id);
      CREATE INDEX question_answers_board ON question_answers (answered_at, responder_id);
      CREATE INDEX tips_board_released ON tips (settled_at, recipient_id) WHERE state = 'released';

      -- Open bounties with their open pledges' total, kept by triggers on bounties and pledges, so
      -- /board is one indexed scan however many bounties are open. Only the board reads it; it is
      -- an upsert (concurrent writers to one bounty wait, never fail).
      CREATE TABLE board_open (
        bounty_id    bigint PRIMARY KEY,
        repo_id      bigint NOT NULL,
        repo         text NOT NULL,
        issue_number integer NOT NULL,
        created_at   timestamptz NOT NULL,
        sats         bigint NOT NULL,
        currencies   text[] NOT NULL
      );
      CREATE INDEX board_open_by_sats ON board_open (sats DESC, created_at DESC, bounty_id DESC);
      CREATE INDEX board_open_by_age ON board_open (created_at, bounty_id);
      CREATE INDEX board_open_by_repo ON board_open (repo, sats DESC);
      CREATE FUNCTION board_open_refresh(bid bigint) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM bounties WHERE id = bid AND status = 'open') THEN
            DELETE FROM board_open WHERE bounty_id = bid;
            RETURN;
          END IF;
          INSERT INTO board_open (bounty_id, repo_id, repo, issue_number, created_at, sats, currencies)
          SELECT b.id, b.repo_id, lower(b.repo_owner || '/' || b.repo_name), b.issue_number, b.created_at,
                 COALESCE((SELECT sum(COALESCE(p.backed_sats, p.value_sats)) FROM pledges p WHERE p.bounty_id = b.id AND p.status = 'open'), 0),
                 COALESCE((SELECT array_agg(DISTINCT p.currency) FROM pledges p WHERE p.bounty_id = b.id AND p.status = 'open'), '{}')
            FROM bounties b WHERE b.id = bid
          ON CONFLICT (bounty_id) DO UPDATE SET repo_id = excluded.repo_id, repo = excluded.repo, issue_number = excluded.issue_number,
            created_at = excluded.created_at, sats = excluded.sats, currencies = excluded.currencies;
        END $$;
      CREATE FUNCTION board_open_pledge() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP <> 'INSERT' THEN PERFORM board_open_refresh(OLD.bounty_id); END IF;
          IF TG_OP = 'INSERT' OR NEW.bounty_id <> OLD.bounty_id THEN PERFORM board_open_refresh(NEW.bounty_id); END IF;
          RETURN NULL;
        END $$;
      CREATE TRIGGER board_open_pledges AFTER INSERT OR UPDATE OR DELETE ON pledges FOR EACH ROW EXECUTE FUNCTION board_open_pledge();
      CREATE FUNCTION board_open_bounty() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM board_open_refresh(NEW.id);
          RETURN NULL;
        END $$;
      CREATE TRIGGER board_open_bounties AFTER INSERT OR UPDATE OF status, repo_owner, repo_name, created_at ON bounties
        FOR EACH ROW EXECUTE FUNCTION board_open_bounty();
      INSERT INTO board_open (bounty_id, repo_id, repo, issue_number, created_at, sats, currencies)
      SELECT b.id, b.repo_id, lower(b.repo_owner || '/' || b.repo_name), b.issue_number, b.created_at,
             COALESCE(sum(COALESCE(p.backed_sats, p.value_sats)), 0), COALESCE(array_agg(DISTINCT p.currency) FILTER (WHERE p.id IS NOT NULL), '{}')
        FROM bounties b LEFT JOIN pledges p ON p.bounty_id = b.id AND p.status = 'open'
       WHERE b.status = 'open' GROUP BY b.id;

      -- Filled from the deliveries already stored (the newest about each issue / repository wins);
      -- every later delivery keeps them current.
      INSERT INTO board_repos (repo_id, full_name, private, updated_at)
      SELECT DISTINCT ON ((payload->'repository'->>'id')::bigint)
             (payload->'repository'->>'id')::bigint, payload->'repository'->>'full_name',
             (payload->'repository'->>'private')::boolean, received_at
        FROM webhook_inbox
       WHERE payload IS NOT NULL AND jsonb_typeof(payload->'repository'->'id') = 'number'
         AND jsonb_typeof(payload->'repository'->'private') = 'boolean' AND payload->'repository'->>'full_name' IS NOT NULL
       ORDER BY (payload->'repository'->>'id')::bigint, received_at DESC;
      INSERT INTO board_issues (repo_id, issue_number, labels, assignees, html_url, updated_at)
      SELECT DISTINCT ON ((payload->'repository'->>'id')::bigint, (payload->'issue'->>'number')::integer)
             (payload->'repository'->>'id')::bigint, (payload->'issue'->>'number')::integer,
             COALESCE(ARRAY(SELECT l->>'name' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(payload->'issue'->'labels') = 'array' THEN payload->'issue'->'labels' ELSE '[]'::jsonb END) l WHERE l->>'name' IS NOT NULL), '{}'),
             COALESCE((SELECT jsonb_agg(jsonb_build_object('id', a->'id', 'login', a->'login')) FROM jsonb_array_elements(CASE WHEN jsonb_typeof(payload->'issue'->'assignees') = 'array' THEN payload->'issue'->'assignees' ELSE '[]'::jsonb END) a), '[]'::jsonb),
             payload->'issue'->>'html_url', received_at
        FROM webhook_inbox
       WHERE payload IS NOT NULL AND event IN ('issues', 'issue_comment')
         AND jsonb_typeof(payload->'repository'->'id') = 'number' AND jsonb_typeof(payload->'issue'->'number') = 'number'
       ORDER BY (payload->'repository'->>'id')::bigint, (payload->'issue'->>'number')::integer, received_at DESC;
    `,
  },
  {
    version: 23,
    name: "fee history: the fee rate each payout run observed, for PAYOUT_MAX_DELAY timing",
    sql: `
      CREATE TABLE fee_observations (
        id           bigserial PRIMARY KEY,
        observed_at  timestamptz NOT NULL,
        rate_sat_kvb bigint NOT NULL CHECK (rate_sat_kvb > 0)
      );
      CREATE INDEX fee_observations_at ON fee_observations (observed_at);
    `,
  },
  {
    version: 27,
    name: "answers donated to a charity (/price … donate) carry its name and address, so its account is paid out",
    sql: `
      -- The charity as the repository's config named it when the price was set, and on each answer
      -- as it was when paid: a charity account's own balance is paid to that address.
      ALTER TABLE question_prices ADD COLUMN charity_name text, ADD COLUMN charity_address text;
      ALTER TABLE question_answers ADD COLUMN charity_name text, ADD COLUMN charity_address text;
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
