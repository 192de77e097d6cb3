import type { Logger } from "pino";

/**
 * A webhook relay for a laptop: listens to a smee.io-style channel (server-sent events, one JSON
 * message per delivery: the delivery's headers, its parsed `body`, `query` and `timestamp`) and
 * posts each delivery to the app's own webhook route with its headers, so the route checks the
 * signature as for a delivery from GitHub. GitHub sends compact JSON, which is what re-serialising
 * the parsed body gives back; a body that does not is refused by the signature check, never let in.
 * Deliveries are forwarded one at a time, in the order the channel sent them.
 */
export interface Relay {
  close(): Promise<void>;
}

export interface RelayOptions {
  /** WEBHOOK_PROXY_URL. */
  source: string;
  /** The app's webhook route, e.g. http://127.0.0.1:3000/api/github/webhooks. */
  target: string;
  log: Logger;
  /** First pause before reconnecting to a dropped channel (doubles up to maxRetryMs). */
  retryMs?: number;
  maxRetryMs?: number;
}

/** Headers that describe the hop to the channel, not the delivery. */
const HOP = new Set(["host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive", "te", "upgrade", "expect"]);

export function startRelay(opts: RelayOptions): Relay {
  const log = opts.log.child({ relay: new URL(opts.source).origin });
  const abort = new AbortController();
  let queue: Promise<void> = Promise.resolve();

  const forward = async (data: string): Promise<void> => {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data) as Record<string, unknown>;
    } catch {
      log.warn("WEBHOOK_PROXY_URL sent a message that is not JSON; skipped");
      return;
    }
    if (typeof msg !== "object" || msg === null || !("body" in msg)) return;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg)) {
      if (typeof v !== "string" || ["body", "query", "timestamp"].includes(k) || HOP.has(k.toLowerCase())) continue;
      headers[k] = v;
    }
    headers["content-type"] = "application/json";
    const id = headers["x-github-delivery"];
    try {
      const res = await fetch(opts.target, { method: "POST", headers, body: JSON.stringify(msg.body), signal: abort.signal });
      await res.text();
      log.info({ delivery: id, event: headers["x-github-event"], status: res.status }, "relayed a delivery from WEBHOOK_PROXY_URL");
    } catch (err) {
      if (!abort.signal.aborted) log.warn({ err, delivery: id }, "relaying a delivery from WEBHOOK_PROXY_URL failed");
    }
  };

  const listen = async (): Promise<void> => {
    let delay = opts.retryMs ?? 1000;
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(opts.source, { headers: { accept: "text/event-stream" }, signal: abort.signal });
        if (!res.ok || !res.body) throw new Error(`the channel answered ${res.status}`);
        log.info("listening to WEBHOOK_PROXY_URL for webhook deliveries");
        delay = opts.retryMs ?? 1000;
        const decoder = new TextDecoder();
        let buffer = "";
        let event = "";
        let lines: string[] = [];
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let nl: number;
          while ((nl = buffer.search(/\r\n|\r|\n/)) !== -1) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(buffer[nl] === "\r" && buffer[nl + 1] === "\n" ? nl + 2 : nl + 1);
            if (line === "") {
              // A blank line ends an event; only unnamed ("message") events carry deliveries.
              if (lines.length && (event === "" || event === "message")) {
                const data = lines.join("\n");
                queue = queue.then(() => forward(data));
              }
              event = "";
              lines = [];
            } else if (line.startsWith("data:")) lines.push(line.slice(5).replace(/^ /, ""));
            else if (line.startsWith("event:")) event = line.slice(6).trim();
          }
        }
        throw new Error("the channel closed the stream");
      } catch (err) {
        if (abort.signal.aborted) break;
        log.warn({ err, retryInMs: delay }, "WEBHOOK_PROXY_URL is not reachable; reconnecting");
        await new Promise<void>((r) => {
          const timer = setTimeout(r, delay);
          abort.signal.addEventListener("abort", () => (clearTimeout(timer), r()), { once: true });
        });
        delay = Math.min(delay * 2, opts.maxRetryMs ?? 30_000);
      }
    }
  };
  const running = listen();

  return {
    async close() {
      abort.abort();
      await running;
      await queue;
    },
  };
}
