import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import yaml from "js-yaml";
import type { Logger } from "pino";
import { convertManifest, type RegisteredApp } from "../github/manifest.js";
import type { Settings } from "../settings.js";
import { updateEnvFile, writeNewSecretFile } from "./envFile.js";
import { buildManifest, createAppUrl, webhookTarget } from "./manifest.js";

export interface SetupOptions {
  settings: Pick<Settings, "publicUrl" | "webhookProxyUrl" | "webhookPath" | "ghOrg" | "port" | "baseUrl">;
  /** Where the setup page listens (127.0.0.1 unless HOST is set). */
  host: string;
  /** The folder the .env file and the private key file are written to. */
  dir: string;
  log: Logger;
  /** app.yml's settings; read from the app.yml beside the package by default. */
  appYml?: Record<string, unknown>;
}

export interface Registration {
  app: RegisteredApp;
  envFile: string;
  keyFile: string;
}

export interface SetupServer {
  url: string;
  /** The hook URL the manifest registers. */
  hookUrl: string;
  /** Resolves once GitHub has registered the app and its credentials are written. */
  registered: Promise<Registration>;
  close(): Promise<void>;
}

/** app.yml of this package: the nearest one above this module (src/setup or dist/src/setup). */
export function readAppYml(from = import.meta.dirname): Record<string, unknown> {
  for (let dir = from, i = 0; i < 5; i++, dir = dirname(dir)) {
    const file = join(dir, "app.yml");
    if (existsSync(file)) return (yaml.load(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
  }
  throw new Error("app.yml (the GitHub App manifest) is not found beside the package");
}

/** The web host of the REST base URL: github.com for api.github.com, GHE_HOST for GHES. */
export const webUrlOf = (baseUrl: string): string =>
  baseUrl === "https://api.github.com" ? "https://github.com" : baseUrl.replace(/\/api\/v3\/?$/, "");

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function page(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>\n`);
}

/**
 * The setup page: registers the GitHub App from app.yml with the operator's webhook URL (GitHub's
 * manifest flow), then writes APP_ID, PRIVATE_KEY_PATH (the key in its own 0600 file), WEBHOOK_SECRET
 * and the OAuth client id and secret to `.env`. Refuses to start, with a one-line error, when the
 * webhook URL to register is missing or a placeholder.
 */
export async function startSetup(opts: SetupOptions): Promise<SetupServer> {
  const target = webhookTarget(opts.settings);
  if (!target.ok) throw new Error(`cannot register a GitHub App: ${target.error}`);
  const appYml = opts.appYml ?? readAppYml();
  const formAction = createAppUrl({ webUrl: webUrlOf(opts.settings.baseUrl), org: opts.settings.ghOrg });
  // Each page view gets a state; the redirect must bring one back, so no one else's code is taken.
  const states = new Set<string>();
  let done: Registration | undefined;
  let resolve!: (r: Registration) => void;
  const registered = new Promise<Registration>((r) => (resolve = r));

  const origin = (req: IncomingMessage): string => {
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? `http://${host}` : `http://${opts.host}:${opts.settings.port}`;
  };

  const showForm = (req: IncomingMessage, res: ServerResponse) => {
    if (done) return page(res, 200, "bounty-bot is registered", `<p>App ${escapeHtml(done.app.slug)} (APP_ID ${done.app.id}) is written to ${escapeHtml(done.envFile)}: restart bounty-bot.</p>`);
    const state = randomBytes(16).toString("hex");
    states.add(state);
    if (states.size > 100) states.delete(states.values().next().value!);
    const manifest = buildManifest(appYml, { hookUrl: target.url, redirectUrl: `${origin(req)}/probot/setup` });
    page(
      res,
      200,
      "Register bounty-bot as a GitHub App",
      `<p>GitHub will deliver webhooks to <code>${escapeHtml(target.url)}</code> (${target.via})` +
        `${opts.settings.ghOrg ? `, and the app is registered under the organisation <code>${escapeHtml(opts.settings.ghOrg)}</code> (GH_ORG)` : ""}.</p>` +
        `<form method="post" action="${escapeHtml(`${formAction}?state=${state}`)}">` +
        `<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">` +
        `<button type="submit">Register the GitHub App on GitHub</button></form>`,
    );
  };

  const finish = async (url: URL, res: ServerResponse) => {
    const code = url.searchParams.get("code") ?? "";
    const state = url.searchParams.get("state") ?? "";
    if (done) return page(res, 409, "Already registered", `<p>APP_ID ${done.app.id} is written to ${escapeHtml(done.envFile)}: restart bounty-bot.</p>`);
    if (!/^[\w-]{1,100}$/.test(code)) return page(res, 400, "No code", "<p>GitHub's redirect carries no valid code: open the setup page again.</p>");
    if (!states.delete(state)) return page(res, 400, "Unknown state", "<p>This redirect was not started from this setup page: open the setup page again.</p>");
    let app: RegisteredApp;
    try {
      app = await convertManifest(opts.settings.baseUrl, code);
    } catch (err) {
      opts.log.error({ err }, "GitHub did not convert the app manifest");
      return page(res, 502, "GitHub did not register the app", `<p>${escapeHtml((err as Error).message)}</p>`);
    }
    const keyName = `${app.slug}.${app.id}.private-key.pem`;
    const keyFile = join(opts.dir, keyName);
    const envFile = join(opts.dir, ".env");
    writeNewSecretFile(keyFile, app.pem);
    updateEnvFile(envFile, {
      APP_ID: String(app.id),
      // The key in its own file: .env stays one line per value, so `docker run --env-file` keeps it whole.
      PRIVATE_KEY: "",
      PRIVATE_KEY_PATH: `./${keyName}`,
      WEBHOOK_SECRET: app.webhookSecret,
      ...(app.clientId ? { GITHUB_CLIENT_ID: app.clientId } : {}),
      ...(app.clientSecret ? { GITHUB_CLIENT_SECRET: app.clientSecret } : {}),
      // The next start relays from the same channel, or serves behind the same URL.
      [target.via]: target.via === "WEBHOOK_PROXY_URL" ? target.url : opts.settings.publicUrl!,
    });
    done = { app, envFile, keyFile };
    opts.log.info({ app: app.slug, appId: app.id, owner: app.owner, envFile, keyFile }, "GitHub App registered; restart bounty-bot to serve it");
    resolve(done);
    if (app.htmlUrl) {
      res.writeHead(302, { location: `${app.htmlUrl}/installations/new`, "content-type": "text/plain" });
      res.end(`Registered. Install it: ${app.htmlUrl}/installations/new\n`);
    } else page(res, 200, "Registered", `<p>APP_ID ${app.id} is written to ${escapeHtml(envFile)}: restart bounty-bot.</p>`);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://setup");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    if (req.method !== "GET") {
      res.writeHead(405, { allow: "GET", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path === "/") {
      res.writeHead(302, { location: "/probot", "content-type": "text/plain" }).end("Found. Redirecting to /probot\n");
      return;
    }
    if (path === "/probot") return showForm(req, res);
    if (path === "/probot/setup") {
      finish(url, res).catch((err: Error) => {
        opts.log.error({ err }, "writing the registered app's credentials failed");
        if (!res.headersSent) page(res, 500, "Not written", `<p>${escapeHtml(err.message)}</p>`);
      });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.settings.port, opts.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`,
    hookUrl: target.url,
    registered,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
