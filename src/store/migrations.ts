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
