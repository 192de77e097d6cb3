import { buildManifest, createAppUrl, webhookTarget } from "../../src/setup/manifest.js";
import { readAppYml } from "../../src/setup/server.js";

const path = "/api/github/webhooks";

describe("the webhook URL the setup page registers", () => {
  test.each([
    [{ webhookProxyUrl: "https://smee.io/Abc123" }, "https://smee.io/Abc123", "WEBHOOK_PROXY_URL"],
    [{ webhookProxyUrl: "http://127.0.0.1:7000/channel-1" }, "http://127.0.0.1:7000/channel-1", "WEBHOOK_PROXY_URL"],
    [{ publicUrl: "https://bounties.k8s.io" }, "https://bounties.k8s.io/api/github/webhooks", "PUBLIC_URL"],
    [{ publicUrl: "https://k8s.io/bounty-bot" }, "https://k8s.io/bounty-bot/api/github/webhooks", "PUBLIC_URL"],
  ])("%j registers %s", (input, url, via) => {
    expect(webhookTarget({ ...input, webhookPath: path })).toEqual({ ok: true, url, via });
  });

  test.each([
    [{}, /^no webhook URL to register: set WEBHOOK_PROXY_URL .* or PUBLIC_URL/],
    [{ publicUrl: "https://example.com" }, /^PUBLIC_URL https:\/\/example.com is a placeholder that delivers nowhere/],
    [{ publicUrl: "https://bot.example.org" }, /placeholder/],
    [{ webhookProxyUrl: "https://example.com/abc" }, /^WEBHOOK_PROXY_URL https:\/\/example.com is a placeholder/],
    [{ publicUrl: "http://localhost:3000" }, /^PUBLIC_URL http:\/\/localhost:3000 is only reachable from this machine/],
    [{ publicUrl: "http://127.0.0.1:3000" }, /only reachable from this machine/],
    [{ webhookProxyUrl: "https://smee.io/new" }, /is not a channel: open https:\/\/smee.io\/new/],
    [{ webhookProxyUrl: "https://smee.io" }, /is not a channel/],
    [{ publicUrl: "https://bounties.k8s.io", webhookProxyUrl: "https://smee.io/abc" }, /^both WEBHOOK_PROXY_URL and PUBLIC_URL are set/],
  ])("%j is refused", (input, error) => {
    const r = webhookTarget({ ...input, webhookPath: path });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(error);
  });
});

describe("the manifest", () => {
  test("app.yml carries no webhook URL of its own; the manifest carries the given one, the redirect, and stays private", () => {
    const appYml = readAppYml();
    expect(appYml.hook_attributes).toBeUndefined();
    expect(JSON.stringify(appYml)).not.toMatch(/example\.(com|org)/);
    const m = buildManifest(appYml, { hookUrl: "https://smee.io/Abc123", redirectUrl: "http://127.0.0.1:3000/probot/setup" });
    expect(m).toEqual({
      ...appYml,
      public: false,
      hook_attributes: { url: "https://smee.io/Abc123", active: true },
      redirect_url: "http://127.0.0.1:3000/probot/setup",
    });
    // A hook URL in app.yml is overridden, never sent.
    expect(buildManifest({ ...appYml, hook_attributes: { url: "https://example.com/x" } }, { hookUrl: "https://a.k8s.io/h", redirectUrl: "http://x/probot/setup" }).hook_attributes).toEqual({
      url: "https://a.k8s.io/h",
      active: true,
    });
  });

  test("the form posts to the user's new-app page, or the organisation's with GH_ORG (GitHub or GHES)", () => {
    expect(createAppUrl({ webUrl: "https://github.com" })).toBe("https://github.com/settings/apps/new");
    expect(createAppUrl({ webUrl: "https://github.com", org: "kubernetes-sigs" })).toBe("https://github.com/organizations/kubernetes-sigs/settings/apps/new");
    expect(createAppUrl({ webUrl: "https://ghe.corp", org: "infra" })).toBe("https://ghe.corp/organizations/infra/settings/apps/new");
  });
});
