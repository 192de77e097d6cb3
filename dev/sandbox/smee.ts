/**
 * A local stand-in for smee.io: a channel is any path; `GET` with `Accept: text/event-stream`
 * subscribes to it, a `POST` to it is broadcast to its subscribers as smee.io does (one unnamed
 * event whose data is the request's headers, its parsed JSON `body`, `query` and `timestamp`).
 * Loopback only, node:http only.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SmeeStandIn {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  /** A channel URL (`${url}/<name>`), as https://smee.io/new hands one out. */
  channel(name?: string): string;
  /** Subscribers connected to a channel now. */
  subscribers(channelUrl: string): number;
  /** Deliveries posted so far, per channel path. */
  posted: Array<{ channel: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

export async function startSmeeStandIn(): Promise<SmeeStandIn> {
  const channels = new Map<string, Set<http.ServerResponse>>();
  const posted: SmeeStandIn["posted"] = [];
  let next = 1;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://smee");
    const channel = url.pathname;
    if (req.method === "GET" && /text\/event-stream/.test(req.headers.accept ?? "")) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      res.write("event: ready\ndata: {}\n\n");
      const subs = channels.get(channel) ?? new Set();
      channels.set(channel, subs.add(res));
      req.on("close", () => subs.delete(res));
      return;
    }
    if (req.method === "POST") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          res.writeHead(400, { "content-type": "text/plain" }).end("body is not JSON\n");
          return;
        }
        posted.push({ channel, headers: req.headers, body: text });
        const message = JSON.stringify({ ...req.headers, body, query: Object.fromEntries(url.searchParams), timestamp: Date.now() });
        for (const sub of channels.get(channel) ?? []) sub.write(`id: ${Date.now()}\ndata: ${message}\n\n`);
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    channel: (name) => `${url}/${name ?? `channel-${next++}`}`,
    subscribers: (channelUrl) => channels.get(new URL(channelUrl).pathname)?.size ?? 0,
    posted,
    close: () =>
      new Promise<void>((r) => {
        for (const subs of channels.values()) for (const s of subs) s.end();
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
