import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { checkDeclaredLength, readBody } from "./body.js";

/** An HTTP failure with the status and the one-line detail the client gets as a problem answer. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Close the connection after answering (the client may still be sending a body we will not read). */
    readonly close = false,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** What a handler gets besides the request and response. */
export interface RouteContext {
  /** The path's `:name` segments, decoded. */
  params: Record<string, string>;
  /** The request body, read under the route's `maxBytes` (413 past it). */
  body(): Promise<Buffer>;
  log: Logger;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A path pattern: exact segments and `:name` for one segment (`/api/v1/awards/:id`); trailing slashes are ignored. */
  path: string;
  /** The largest request body this route accepts; 413 past it. Default DEFAULT_MAX_BYTES. */
  maxBytes?: number;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void> | void;
}

/** Routes that do not say otherwise take small bodies only. */
export const DEFAULT_MAX_BYTES = 64 * 1024;

const trim = (path: string): string => path.replace(/\/+$/, "") || "/";
const segments = (path: string): string[] => trim(path).split("/").slice(1);

/** Answers with plain text; with `close`, the connection is cut once the answer is flushed. */
export function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, close = false): void {
  send(req, res, status, "text/plain; charset=utf-8", `${text}\n`, close);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  send(req, res, status, "application/json", `${JSON.stringify(body)}\n`);
}

/** An RFC 9457 problem answer: application/problem+json with type, title, status and detail. */
export function sendProblem(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  detail: string,
  opts: { close?: boolean; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
): void {
  for (const [k, v] of Object.entries(opts.headers ?? {})) if (!res.headersSent) res.setHeader(k, v);
  const problem = { type: "about:blank", title: STATUS_CODES[status] ?? "Error", status, detail, ...opts.extra };
  send(req, res, status, "application/problem+json", `${JSON.stringify(problem)}\n`, opts.close);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: string, close = false): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": type, ...(close ? { connection: "close" } : {}) });
  res.end(body, () => {
    if (close) req.destroy();
  });
}

interface Compiled {
  route: Route;
  parts: string[];
}

function match(parts: string[], path: string[]): Record<string, string> | null {
  if (parts.length !== path.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = parts[i]!;
    if (want.startsWith(":")) {
      try {
        params[want.slice(1)] = decodeURIComponent(path[i]!);
      } catch {
        return null;
      }
    } else if (want !== path[i]) return null;
  }
  return params;
}

export interface RouterOptions {
  /** Logs one info line per request: method, route pattern, status, ms. */
  log: Logger;
  /** Called once per answered request, e.g. for metrics. */
  onResponse?(r: { method: string; route: string; status: number; ms: number }): void;
}

/**
 * The one HTTP entry of the app: routes by method and path pattern, each with its body limit;
 * errors as RFC 9457 problem answers (404 unknown path, 405 known path with another method, 413
 * body over the route's limit, 500 for an unexpected error, logged), and one log line per request
 * naming the route's pattern, never the raw URL (ids stay out of the logs and metric labels).
 */
export function createRouter(routes: Route[], { log, onResponse }: RouterOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const compiled: Compiled[] = routes.map((route) => ({ route, parts: segments(route.path) }));
  return (req, res) => {
    const started = process.hrtime.bigint();
    let pattern = "(unmatched)";
    res.once("finish", () => {
      const ms = Number((process.hrtime.bigint() - started) / 1000n) / 1000;
      log.info({ method: req.method, route: pattern, status: res.statusCode, ms }, "HTTP request");
      onResponse?.({ method: req.method ?? "", route: pattern, status: res.statusCode, ms });
    });
    let path: string[];
    try {
      path = segments(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      sendProblem(req, res, 400, "bad request URL");
      return;
    }
    const found = compiled.map((c) => ({ c, params: match(c.parts, path) })).filter((f) => f.params !== null);
    if (found.length === 0) {
      sendProblem(req, res, 404, "no such route");
      return;
    }
    const hit = found.find((f) => f.c.route.method === req.method);
    if (!hit) {
      pattern = found[0]!.c.route.path;
      sendProblem(req, res, 405, `${req.method} is not allowed here`, { headers: { allow: [...new Set(found.map((f) => f.c.route.method))].join(", ") } });
      return;
    }
    const { route } = hit.c;
    pattern = route.path;
    const maxBytes = route.maxBytes ?? DEFAULT_MAX_BYTES;
    const ctx: RouteContext = { params: hit.params!, body: () => readBody(req, maxBytes), log };
    Promise.resolve()
      .then(() => {
        checkDeclaredLength(req, maxBytes);
        return route.handle(req, res, ctx);
      })
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          sendProblem(req, res, err.status, err.message, { close: err.close, headers: err.headers });
          return;
        }
        log.error({ err, method: req.method, route: pattern }, "HTTP handler failed");
        sendProblem(req, res, 500, "internal error");
      });
  };
}
