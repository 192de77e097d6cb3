import { Octokit } from "@octokit/rest";

/** What GitHub hands back for a registered app: everything the app needs to run as it. */
export interface RegisteredApp {
  id: number;
  slug: string;
  htmlUrl: string;
  owner: string;
  pem: string;
  webhookSecret: string;
  clientId?: string;
  clientSecret?: string;
}

/**
 * Exchanges the one-time code of the manifest flow's redirect for the new app's credentials
 * (POST /app-manifests/{code}/conversions; no authentication: the code is the credential).
 */
export async function convertManifest(baseUrl: string, code: string): Promise<RegisteredApp> {
  const octokit = new Octokit({ baseUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
  const { data } = await octokit.request("POST /app-manifests/{code}/conversions", { code });
  const d = data as unknown as Record<string, unknown> & { owner?: { login?: unknown } | null };
  const str = (k: string): string | undefined => (typeof d[k] === "string" && d[k] !== "" ? (d[k] as string) : undefined);
  if (!Number.isSafeInteger(d.id) || (d.id as number) <= 0 || !str("pem") || !str("webhook_secret") || !str("slug")) {
    throw new Error("GitHub's answer to the manifest conversion lacks the app's id, slug, pem or webhook_secret");
  }
  return {
    id: d.id as number,
    slug: str("slug")!,
    htmlUrl: str("html_url") ?? "",
    owner: typeof d.owner?.login === "string" ? d.owner.login : "",
    pem: str("pem")!,
    webhookSecret: str("webhook_secret")!,
    clientId: str("client_id"),
    clientSecret: str("client_secret"),
  };
}
