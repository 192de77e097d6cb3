import { timingSafeEqual, createHash } from "node:crypto";
import type { Metrics, MetricSources } from "../metrics.js";
import { withTimeout } from "../metrics.js";
import { HttpError, sendJson, sendProblem, sendText, type Route } from "./router.js";

/** A dependency /readyz checks: resolves when it is up. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

/** GET /healthz: the process is alive and its event loop answers; nothing else is checked. */
export function healthRoute(): Route {
  return { method: "GET", path: "/healthz", maxBytes: 0, handle: (req, res) => sendText(req, res, 200, "ok") };
}

/**
 * GET /readyz: 200 when every check passes within `timeoutMs`, else 503 naming the checks that
 * failed and why; 503 too while the app shuts down (so Kubernetes stops sending it traffic).
 */
export function readyRoute(opts: { checks: ReadinessCheck[]; timeoutMs?: number; notReady(): string | null }): Route {
  return {
    method: "GET",
    path: "/readyz",
    maxBytes: 0,
    async handle(req, res) {
      const why = opts.notReady();
      if (why) {
        sendProblem(req, res, 503, why, { extra: { checks: {} } });
        return;
      }
      const results = await Promise.all(
        opts.checks.map(async (c) => {
          try {
            await withTimeout(c.check(), opts.timeoutMs ?? 2000, `the ${c.name} check`);
            return [c.name, "ok"] as const;
          } catch (err) {
            return [c.name, String((err as Error)?.message ?? err).slice(0, 300)] as const;
          }
        }),
      );
      const checks = Object.fromEntries(results);
      const failed = results.filter(([, r]) => r !== "ok");
      if (failed.length === 0) sendJson(req, res, 200, { status: "ready", checks });
      else sendProblem(req, res, 503, `not ready: ${failed.map(([n, r]) => `${n}: ${r}`).join("; ")}`, { extra: { checks } });
    },
  };
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** GET /metrics in Prometheus' text format; with a token, only for `Authorization: Bearer <token>` (compared in constant time). */
export function metricsRoute(opts: { metrics: Metrics; sources: MetricSources; token?: string }): Route {
  const want = opts.token ? digest(opts.token) : undefined;
  return {
    method: "GET",
    path: "/metrics",
    maxBytes: 0,
    async handle(req, res) {
      if (want) {
        const m = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "");
        // Hashing first makes the comparison constant-time whatever the length given.
        if (!m || !timingSafeEqual(digest(m[1]!), want)) {
          throw new HttpError(401, "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", false, { "www-authenticate": 'Bearer realm="metrics"' });
        }
      }
      const text = await opts.metrics.scrape(opts.sources);
      res.writeHead(200, { "content-type": opts.metrics.contentType });
      res.end(text);
    },
  };
}
