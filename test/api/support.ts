/**
 * What the rewards API's tests share: calls over HTTP whose every answer is checked against the
 * OpenAPI document (its schema for that route, status and content type), tokens made by the CLI,
 * and GitHub's answers for the recipient look-ups (nock).
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { openApiDocument } from "../../src/api/openapi.js";
import { runCli } from "../../src/cli/index.js";
import type { PriceSource } from "../../src/payouts/run.js";
import type { Db } from "../../src/store/db.js";
import { github, mockToken } from "../support/bot.js";
import { REPO } from "../support/payloads.js";

export const DOC = openApiDocument() as { paths: Record<string, Record<string, { responses: Record<string, any> }>> };

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addFormat("date-time", (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)));
ajv.addFormat("uri", (s: string) => URL.canParse(s));
ajv.addSchema(DOC, "api");

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/** The documented path template a concrete path matches (`/api/v1/rewards/7` → `/api/v1/rewards/{id}`). */
export function templateOf(path: string): string | null {
  for (const t of Object.keys(DOC.paths)) {
    const re = new RegExp(`^${t.replace(/\{[^}]+\}/g, "[^/]+")}/?$`);
    if (re.test(path)) return t;
  }
  return null;
}

/** Every (route, status) the tests saw, for the coverage check. */
export const SEEN = new Set<string>();

/** Checks one answer against the document; throws with ajv's errors when it does not fit. */
export function checkAnswer(method: string, path: string, status: number, type: string | null, body: unknown): void {
  const t = templateOf(path);
  if (!t) throw new Error(`${method} ${path} is not in the OpenAPI document`);
  const op = DOC.paths[t]![method.toLowerCase()];
  if (!op) throw new Error(`${method} ${t} is not in the OpenAPI document`);
  const answer = op.responses[String(status)];
  if (!answer) throw new Error(`${method} ${t} answered ${status}, which the OpenAPI document does not list`);
  const media = (type ?? "").split(";")[0]!.trim();
  if (!answer.content?.[media]) throw new Error(`${method} ${t} ${status} answered ${media}, the document says ${Object.keys(answer.content ?? {}).join(", ")}`);
  const validate = ajv.getSchema(`api#/${pointer("paths", t, method.toLowerCase(), "responses", String(status), "content", media, "schema")}`);
  if (!validate) throw new Error(`no schema for ${method} ${t} ${status}`);
  if (!validate(body)) throw new Error(`${method} ${t} ${status} does not fit the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  SEEN.add(`${method.toUpperCase()} ${t} ${status}`);
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** One HTTP call to the app, its answer checked against the OpenAPI document. */
export async function call(
  base: string,
  method: "GET" | "POST",
  path: string,
  o: { token?: string; key?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.key) headers["idempotency-key"] = o.key;
  let body: string | undefined = o.raw;
  if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  checkAnswer(method, new URL(`${base}${path}`).pathname, res.status, res.headers.get("content-type"), parsed);
  return { status: res.status, headers: res.headers, body: parsed };
}

/** `bounty-bot tokens …` on the test database; the output's lines and the exit status. */
export async function cli(db: Db, args: string[], prices?: PriceSource): Promise<{ code: number; out: string[]; err: string[] }> {
  let out = "";
  let err = "";
  const code = await runCli(args, { env: {}, db, prices, stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out: out.split("\n").filter(Boolean), err: err.split("\n").filter(Boolean) };
}

let names = 0;
/** A token made by `tokens create`; its printed secret. */
export async function createToken(db: Db, opts: string[], prices?: PriceSource): Promise<{ name: string; token: string }> {
  const name = `t${process.pid}-${++names}`;
  const r = await cli(db, ["tokens", "create", "--name", name, ...opts], prices);
  if (r.code !== 0) throw new Error(`tokens create failed: ${r.err.join("\n")}`);
  const token = r.out.find((l) => l.startsWith("bbt_"));
  if (!token) throw new Error(`tokens create printed no token: ${r.out.join("\n")}`);
  return { name, token };
}

/** The app looks users up through the served account's installation: found, then its token. */
export function mockInstallation() {
  github().get(`/users/${REPO.owner}/installation`).reply(200, { id: REPO.installationId, account: { login: REPO.owner } });
  mockToken();
}
