import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";

/** An HTTP failure with the status and the one-line message the client gets. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Close the connection after answering (the client may still be sending a body we will not read). */
    readonly close = false,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export interface Route {
  method: "GET" | "POST";
  /** An exact path; trailing slashes are ignored. */
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> | void;
}

const trim = (path: string): string => path.replace(/\/+$/, "") || "/";

/** Answers with plain text; with `close`, the connection is cut once the answer is flushed. */
export function sendText(req: IncomingMessage, res: ServerResponse, status: number, text: string, close = false): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...(close ? { connection: "close" } : {}) });
  res.end(`${text}\n`, () => {
    if (close) req.destroy();
  });
}

/**
 * The one HTTP entry of the app: each route by method and path, 404 for unknown paths, 405 for a
 * known path with another method, 500 (logged) for an unexpected error.
 */
export function createRouter(routes: Route[], log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const byPath = new Map<string, Route[]>();
  for (const r of routes) byPath.set(trim(r.path), [...(byPath.get(trim(r.path)) ?? []), r]);
  return (req, res) => {
    let path: string;
    try {
      path = trim(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      sendText(req, res, 400, "bad request URL");
      return;
    }
    const candidates = byPath.get(path);
    if (!candidates) {
      sendText(req, res, 404, "not found");
      return;
    }
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader("allow", candidates.map((r) => r.method).join(", "));
      sendText(req, res, 405, "method not allowed");
      return;
    }
    Promise.resolve()
      .then(() => route.handle(req, res))
      .catch((err: unknown) => {
        if (err instanceof HttpError) {
          sendText(req, res, err.status, err.message, err.close);
          return;
        }
        log.error({ err, method: req.method, path }, "HTTP handler failed");
        sendText(req, res, 500, "internal error");
      });
  };
}
