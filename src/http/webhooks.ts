import type { IncomingMessage, ServerResponse } from "node:http";
import { Webhooks } from "@octokit/webhooks";
import type { Logger } from "pino";
import { MAX_WEBHOOK_BYTES } from "./body.js";
import { HttpError, sendText, type Route } from "./router.js";

/** A delivery whose signature matched: its headers and parsed body. */
export interface SignedDelivery {
  id: string;
  event: string;
  payload: unknown;
}

export interface WebhookRouteOptions {
  path: string;
  secret: string;
  log: Logger;
  /** Stores (or deliberately drops) the delivery; the 2xx is sent only once it resolves. */
  receive(d: SignedDelivery): Promise<unknown>;
  maxBytes?: number;
  /** False while the app shuts down: deliveries get a 503 and are not stored. */
  accepting?(): boolean;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * GitHub's webhook endpoint: the body is read under GitHub's 25 MB cap (413 past it, before any
 * parsing), the X-Hub-Signature-256 checked (400 when it does not match: the delivery id and event
 * are logged, never the body), the JSON parsed, and only after `receive` has stored the delivery
 * does GitHub get its 200; if storing fails it gets a 500 and can redeliver.
 */
export function webhookRoute(opts: WebhookRouteOptions): Route {
  const maxBytes = opts.maxBytes ?? MAX_WEBHOOK_BYTES;
  const webhooks = new Webhooks({ secret: opts.secret });
  return {
    method: "POST",
    path: opts.path,
    maxBytes,
    async handle(req: IncomingMessage, res: ServerResponse, ctx) {
      if (opts.accepting && !opts.accepting()) {
        throw new HttpError(503, "bounty-bot is shutting down: this delivery was not stored; redeliver it", true, { "retry-after": "10" });
      }
      const event = header(req, "x-github-event");
      const id = header(req, "x-github-delivery");
      const signature = header(req, "x-hub-signature-256");
      const missing = [!event && "x-github-event", !id && "x-github-delivery", !signature && "x-hub-signature-256"].filter(Boolean);
      if (missing.length) throw new HttpError(400, `required headers missing: ${missing.join(", ")}`, true);
      if (!/^[\w.-]{1,100}$/.test(event!) || !/^[\w-]{1,100}$/.test(id!)) throw new HttpError(400, "malformed x-github-event or x-github-delivery", true);
      if (!/^\s*application\/json\s*(;|$)/i.test(header(req, "content-type") ?? "")) {
        throw new HttpError(415, 'content-type must be "application/json" (set it in the app\'s webhook settings)', true);
      }
      const log = opts.log.child({ delivery: id, event });
      const body = (await ctx.body()).toString("utf8");
      const matches = body.length > 0 && (await webhooks.verify(body, signature!).catch(() => false));
      if (!matches) {
        log.warn("webhook refused: X-Hub-Signature-256 does not match the body and WEBHOOK_SECRET");
        throw new HttpError(400, "signature does not match");
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        log.warn("webhook refused: its body is not JSON");
        throw new HttpError(400, "body is not JSON");
      }
      try {
        await opts.receive({ id: id!, event: event!, payload });
      } catch (err) {
        // A deliberate answer (e.g. 503 while the app is not ready) goes out as it is.
        if (err instanceof HttpError) throw err;
        log.error({ err }, "webhook not stored: GitHub gets a 500 and may redeliver");
        throw new HttpError(500, "delivery not stored");
      }
      sendText(req, res, 200, "ok");
    },
  };
}
