/**
 * The OpenAPI 3.1 document of every /api/v1 route, served at /api/v1/openapi.json. Schemas are
 * JSON Schema 2020-12 (OpenAPI 3.1's dialect); test/api/openapi.test.ts checks that the app has
 * exactly these routes and that every answer it gives validates against them.
 */

type Schema = Record<string, unknown>;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string) => ({ description, content: { "application/problem+json": { schema: ref("Problem") } } });
const json = (description: string, schema: Schema) => ({ description, content: { "application/json": { schema } } });
const sats = { type: "integer", minimum: 0 };
const time = { type: "string", format: "date-time" };
const nullable = (s: Schema): Schema => ({ oneOf: [s, { type: "null" }] });

const COMMON_ERRORS = {
  "401": problem("Missing, wrong or revoked token."),
  "429": { ...problem("Too many requests with this token; wait for Retry-After seconds."), headers: { "Retry-After": { schema: { type: "integer" } } } },
  "503": problem("Not ready, or a price or GitHub could not be had just now (fails closed)."),
};

const bearer = [{ bearer: [] }];

export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "bounty-bot API",
      version: "1",
      description:
        "Rewards for CI and QA systems (a token's budget on the ledger, paid with the normal payout runs) and the public proof of liabilities. " +
        "Errors are RFC 9457 problem details. POST /api/v1/rewards takes an Idempotency-Key: the same key and body again answer 200 with the same reward, " +
        "another body 422, while the first call runs 409.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A token from `bounty-bot tokens create`." } },
      schemas: {
        Problem: {
          type: "object",
          required: ["type", "title", "status", "detail"],
          properties: {
            type: { type: "string" },
            title: { type: "string" },
            status: { type: "integer", minimum: 400, maximum: 599 },
            detail: { type: "string", minLength: 1 },
            budget_left_sats: sats,
            recipient_cap_left_sats: sats,
          },
        },
        RewardRequest: {
          type: "object",
          required: ["recipient", "amount", "reason"],
          additionalProperties: false,
          properties: {
            recipient: {
              oneOf: [
                { type: "string", description: "A GitHub login" },
                { type: "object", required: ["id"], additionalProperties: false, properties: { id: { type: "integer", minimum: 1 } } },
              ],
            },
            amount: { type: "string", description: 'Any amount /bounty takes: "500sats", "1usd", "0.0001btc", "€2"', examples: ["500sats", "1usd"] },
            reason: { type: "string", minLength: 1, maxLength: 1000 },
            url: nullable({ type: "string", format: "uri", description: "The pull request, issue or job run it is for; required for a token limited to repositories" }),
            notify: nullable({ type: "string", pattern: "^[^/]+/[^#]+#[0-9]+$", description: "owner/repo#N: the bot comments there, mentioning the recipient" }),
          },
        },
        Reward: {
          type: "object",
          additionalProperties: false,
          required: ["id", "recipient", "sats", "fiat", "status", "reason", "url", "notify", "created_at"],
          properties: {
            id: { type: "integer", minimum: 1 },
            recipient: {
              type: "object",
              additionalProperties: false,
              required: ["login", "id"],
              properties: { login: { type: "string" }, id: { type: "integer", minimum: 1 } },
            },
            sats: { type: "integer", minimum: 1 },
            fiat: nullable({
              type: "object",
              additionalProperties: false,
              required: ["currency", "amount", "rate"],
              properties: { currency: { enum: ["USD", "EUR", "GBP"] }, amount: { type: "string", pattern: "^[0-9]+\\.[0-9]{2}$" }, rate: { type: "string" } },
            }),
            status: {
              enum: ["credited", "queued", "paid", "confirmed"],
              description:
                "credited: on the recipient's earnings; queued/paid/confirmed: the state of the first payout to the recipient formed after the reward (best effort).",
            },
            reason: { type: "string" },
            url: nullable({ type: "string" }),
            notify: nullable({ type: "string" }),
            created_at: time,
          },
        },
        RewardPage: {
          type: "object",
          additionalProperties: false,
          required: ["rewards", "page", "per_page", "next_page"],
          properties: {
            rewards: { type: "array", items: ref("Reward") },
            page: { type: "integer", minimum: 1 },
            per_page: { type: "integer", minimum: 1 },
            next_page: nullable({ type: "integer", minimum: 2 }),
          },
        },
        Budget: {
          type: "object",
          additionalProperties: false,
          required: ["token", "budget", "period", "funded_sats", "spent_sats", "left_sats", "rate", "recipient_cap", "repos"],
          properties: {
            token: { type: "string" },
            budget: { type: "string", examples: ["100000sats/1d"] },
            period: {
              type: "object",
              additionalProperties: false,
              required: ["number", "started_at", "ends_at"],
              properties: { number: { type: "integer", minimum: 0 }, started_at: time, ends_at: time },
            },
            funded_sats: sats,
            spent_sats: sats,
            left_sats: sats,
            rate: nullable({ type: "string", description: "A fiat budget: the price its period was funded at" }),
            recipient_cap: nullable({ type: "string" }),
            repos: nullable({ type: "array", items: { type: "string" } }),
          },
        },
        SolvencyReport: {
          type: "object",
          required: ["scheme", "generated_at", "epoch", "network", "owed", "root", "leaf_count", "wallet", "proof_path"],
          additionalProperties: false,
          properties: {
            scheme: { type: "string" },
            generated_at: time,
            epoch: { type: "string" },
            network: { type: "string" },
            owed: {
              type: "object",
              additionalProperties: false,
              required: ["total_sats", "people_sats", "charities_sats", "escrow_sats", "charities"],
              properties: {
                total_sats: { type: "string", pattern: "^[0-9]+$" },
                people_sats: { type: "string", pattern: "^[0-9]+$" },
                charities_sats: { type: "string", pattern: "^[0-9]+$" },
                escrow_sats: { type: "string", pattern: "^[0-9]+$" },
                charities: {
                  type: "array",
                  items: { type: "object", additionalProperties: false, required: ["id", "sats"], properties: { id: { type: "string" }, sats: { type: "string" } } },
                },
              },
            },
            root: ref("SumNode"),
            leaf_count: { type: "integer", minimum: 0 },
            wallet: nullable({
              type: "object",
              additionalProperties: false,
              required: ["outpoints", "total_sats", "confirmed_sats", "covers_owed"],
              properties: {
                outpoints: {
                  type: "array",
                  items: {
                    type: "object",
                    additionalProperties: false,
                    required: ["outpoint", "txid", "vout", "sats", "confirmed"],
                    properties: {
                      outpoint: { type: "string" },
                      txid: { type: "string", pattern: "^[0-9a-f]{64}$" },
                      vout: { type: "integer", minimum: 0 },
                      sats: { type: "string", pattern: "^[0-9]+$" },
                      confirmed: { type: "boolean" },
                    },
                  },
                },
                total_sats: { type: "string", pattern: "^[0-9]+$" },
                confirmed_sats: { type: "string", pattern: "^[0-9]+$" },
                covers_owed: { type: "boolean" },
              },
            }),
            wallet_note: { type: "string" },
            proof_path: { type: "string" },
          },
        },
        SumNode: {
          type: "object",
          required: ["hash", "sum"],
          properties: { hash: { type: "string", pattern: "^[0-9a-f]{64}$" }, sum: { type: "string", pattern: "^[0-9]+$" } },
        },
        SolvencyProof: {
          type: "object",
          additionalProperties: false,
          required: ["scheme", "generated_at", "epoch", "login", "root", "proof"],
          properties: {
            scheme: { type: "string" },
            generated_at: time,
            epoch: { type: "string" },
            login: { type: "string" },
            root: ref("SumNode"),
            proof: { type: "object", description: "An inclusion proof in the Merkle sum tree (scripts/verify-solvency.mjs checks it)", required: ["balance"] },
          },
        },
      },
    },
    paths: {
      "/api/v1/rewards": {
        post: {
          summary: "Reward a contributor from the token's budget",
          security: bearer,
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: true,
              schema: { type: "string", minLength: 1, maxLength: 255 },
              description: "Unique per reward, reused on retries (e.g. built from the CI job's ids). Scoped to the token; kept for good (at least 30 days).",
            },
          ],
          requestBody: { required: true, content: { "application/json": { schema: ref("RewardRequest") } } },
          responses: {
            "201": { ...json("The reward was recorded.", ref("Reward")), headers: { Location: { schema: { type: "string" } } } },
            "200": json("The same key and body again: the reward recorded the first time; nothing is recorded twice.", ref("Reward")),
            "400": problem("Bad JSON or fields, or no Idempotency-Key."),
            ...COMMON_ERRORS,
            "402": problem("Over the token's budget for this period (budget_left_sats) or the recipient's cap (recipient_cap_left_sats)."),
            "403": problem("The token is not allowed for the url's repository (or a token limited to repositories was given no url)."),
            "409": problem("A request with this Idempotency-Key is still being processed."),
            "413": problem("The body is over 64 KB."),
            "422": problem("The key was used with another body, the recipient is unknown or a bot, or notify names a repository the app cannot comment on."),
          },
        },
        get: {
          summary: "The token's rewards, oldest first, 50 a page",
          security: bearer,
          parameters: [
            { name: "since", in: "query", required: false, schema: { type: "string" }, description: "Only rewards made at or after this time (ISO 8601)" },
            { name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1 } },
          ],
          responses: {
            "200": { ...json("A page of rewards; the Link header names the next one.", ref("RewardPage")), headers: { Link: { schema: { type: "string" } } } },
            "400": problem("A bad since or page."),
            ...COMMON_ERRORS,
          },
        },
      },
      "/api/v1/rewards/{id}": {
        get: {
          summary: "One of the token's rewards",
          security: bearer,
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 } }],
          responses: {
            "200": json("The reward, with its status now.", ref("Reward")),
            "400": problem("Not a reward id."),
            "404": problem("The token has no such reward."),
            ...COMMON_ERRORS,
          },
        },
      },
      "/api/v1/budget": {
        get: {
          summary: "What is left of the token's budget in this period",
          security: bearer,
          responses: { "200": json("The current period of the token's budget.", ref("Budget")), ...COMMON_ERRORS },
        },
      },
      "/api/v1/openapi.json": {
        get: { summary: "This document", responses: { "200": json("The OpenAPI 3.1 document.", { type: "object", required: ["openapi", "paths"] }) } },
      },
      "/api/v1/solvency": {
        get: {
          summary: "The proof of liabilities: what is owed (a Merkle sum tree's root) beside the wallet's coins",
          responses: {
            "200": json("The report (built at most once a minute).", ref("SolvencyReport")),
            "503": problem("The wallet's coins could not be read from the chain just now."),
          },
        },
      },
      "/api/v1/bounties": {
        get: {
          summary: "The board's open bounties (/board's JSON twin), 50 a page",
          parameters: [
            { name: "repo", in: "query", required: false, schema: { type: "string" }, description: "owner/name" },
            { name: "label", in: "query", required: false, schema: { type: "string" } },
            { name: "currency", in: "query", required: false, schema: { type: "string" } },
            { name: "min", in: "query", required: false, schema: { type: "string" }, description: "Least amount in sats" },
            { name: "sort", in: "query", required: false, schema: { type: "string", enum: ["amount", "age"] } },
            { name: "state", in: "query", required: false, schema: { type: "string" } },
            { name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1 } },
          ],
          responses: {
            "200": json("A page of open bounties (sats as strings).", {
              type: "object",
              required: ["page", "pages", "total", "bounties"],
              properties: { page: { type: "integer" }, pages: { type: "integer" }, total: { type: "integer" }, bounties: { type: "array", items: { type: "object" } } },
            }),
            "304": { description: "Not modified (ETag)." },
            "400": problem("A bad filter."),
            "404": problem("The board is off (BOARD=off)."),
          },
        },
      },
      "/api/v1/experts": {
        get: {
          summary: "The expert directory (/board/experts's JSON twin): people with a /price",
          responses: {
            "200": json("The experts.", { type: "object", required: ["experts"], properties: { experts: { type: "array", items: { type: "object" } } } }),
            "304": { description: "Not modified (ETag)." },
            "404": problem("The board is off (BOARD=off)."),
          },
        },
      },
      "/api/v1/leaderboard": {
        get: {
          summary: "Contributors by sats earned and funders by reliability (/board/leaderboard's JSON twin)",
          parameters: [{ name: "period", in: "query", required: false, schema: { type: "string", enum: ["week", "month", "all"] } }],
          responses: {
            "200": json("The leaderboard for the period.", { type: "object", required: ["period"], properties: { period: { type: "string" } } }),
            "304": { description: "Not modified (ETag)." },
            "400": problem("A bad period."),
            "404": problem("The board is off (BOARD=off)."),
          },
        },
      },
      "/api/v1/payouts": {
        get: {
          summary: "Recent payouts with their txids, and the solvency summary (/board/payouts's JSON twin)",
          parameters: [{ name: "page", in: "query", required: false, schema: { type: "integer", minimum: 1 } }],
          responses: {
            "200": json("A page of payouts.", { type: "object", required: ["payouts"], properties: { payouts: { type: "array", items: { type: "object" } } } }),
            "304": { description: "Not modified (ETag)." },
            "400": problem("A bad page."),
            "404": problem("The board is off (BOARD=off)."),
          },
        },
      },
      "/api/v1/users/{login}": {
        get: {
          summary: "One person on the board (/u/<login>'s JSON twin)",
          parameters: [{ name: "login", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": json("What they earned, were paid (with txids), have pending, answered and pledged.", { type: "object", required: ["paid"], properties: { paid: { type: "array", items: { type: "object" } } } }),
            "304": { description: "Not modified (ETag)." },
            "404": problem("Nobody by that name is on the board (or they left it with /board hide, or the board is off)."),
          },
        },
      },
      "/api/v1/solvency/proof/{login}": {
        get: {
          summary: "One person's inclusion proof in the current report",
          parameters: [{ name: "login", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": json("The proof, to check against the report's root.", ref("SolvencyProof")),
            "400": problem("Not a GitHub login."),
            "404": problem("No balance is held for this login."),
            "503": problem("The wallet's coins could not be read from the chain just now."),
          },
        },
      },
    },
  };
}
