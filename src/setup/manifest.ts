/**
 * The GitHub App manifest the setup page sends to GitHub, and the URL it is sent to. Pure: the
 * caller reads app.yml and the settings.
 */

export interface WebhookTargetInput {
  /** PUBLIC_URL, without a trailing slash. */
  publicUrl?: string;
  /** WEBHOOK_PROXY_URL. */
  webhookProxyUrl?: string;
  /** WEBHOOK_PATH. */
  webhookPath: string;
}

export type WebhookTarget = { ok: true; url: string; via: "WEBHOOK_PROXY_URL" | "PUBLIC_URL" } | { ok: false; error: string };

/** Documentation domains (RFC 2606) and reserved test names: a URL there delivers nowhere. */
const PLACEHOLDER = /(^|\.)(example\.(com|org|net)|example|invalid|localhost\.localdomain)$/;
/** Only this machine: GitHub cannot deliver here without a proxy channel. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[::\]|0\.0\.0\.0)$/;

const HOW = "set WEBHOOK_PROXY_URL to a smee.io channel (https://smee.io/new) on a laptop, or PUBLIC_URL to the address GitHub reaches this server at";

/**
 * Where GitHub must deliver the registered app's webhooks: the proxy channel when one is set (the
 * app relays from it), else PUBLIC_URL + WEBHOOK_PATH. Refused when neither is set, when both are,
 * or when the URL is a placeholder or only reachable from this machine.
 */
export function webhookTarget(input: WebhookTargetInput): WebhookTarget {
  const { publicUrl, webhookProxyUrl } = input;
  if (publicUrl && webhookProxyUrl) {
    return { ok: false, error: "both WEBHOOK_PROXY_URL and PUBLIC_URL are set: set WEBHOOK_PROXY_URL on a laptop (a smee.io channel) or PUBLIC_URL on a server, not both" };
  }
  if (!publicUrl && !webhookProxyUrl) return { ok: false, error: `no webhook URL to register: ${HOW}` };
  const key = webhookProxyUrl ? "WEBHOOK_PROXY_URL" : "PUBLIC_URL";
  const url = new URL((webhookProxyUrl ?? publicUrl)!);
  const host = url.hostname.toLowerCase();
  if (PLACEHOLDER.test(host)) return { ok: false, error: `${key} ${url.origin} is a placeholder that delivers nowhere: ${HOW}` };
  if (key === "PUBLIC_URL" && LOOPBACK.test(host)) {
    return { ok: false, error: `PUBLIC_URL ${url.origin} is only reachable from this machine, GitHub cannot deliver there: ${HOW}` };
  }
  if (key === "WEBHOOK_PROXY_URL") {
    if (url.pathname.replace(/\/+$/, "") === "" || /^\/new\/?$/.test(url.pathname)) {
      return { ok: false, error: `WEBHOOK_PROXY_URL ${url.href} is not a channel: open https://smee.io/new and use the channel URL it shows` };
    }
    return { ok: true, url: url.href.replace(/\/+$/, ""), via: key };
  }
  const path = input.webhookPath.startsWith("/") ? input.webhookPath : `/${input.webhookPath}`;
  return { ok: true, url: `${publicUrl!.replace(/\/+$/, "")}${path}`, via: key };
}

/**
 * The manifest: app.yml's settings with the webhook URL and the setup page's redirect. app.yml
 * cannot override the hook URL or the redirect; `public` defaults to false (Probot's setup made
 * every app public).
 */
export function buildManifest(appYml: Record<string, unknown>, o: { hookUrl: string; redirectUrl: string }): Record<string, unknown> {
  const hook = typeof appYml.hook_attributes === "object" && appYml.hook_attributes !== null ? appYml.hook_attributes : {};
  return {
    ...appYml,
    public: appYml.public === true,
    hook_attributes: { ...hook, url: o.hookUrl, active: true },
    redirect_url: o.redirectUrl,
  };
}

/** github.com's (or GHES's) "register a new GitHub App" page, under GH_ORG when it is set. */
export function createAppUrl(o: { webUrl: string; org?: string }): string {
  return `${o.webUrl.replace(/\/+$/, "")}${o.org ? `/organizations/${encodeURIComponent(o.org)}` : ""}/settings/apps/new`;
}
