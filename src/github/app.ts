import type { Logger } from "pino";

/** Who the app is, as GitHub answers `GET /app` signed with the app's JWT. */
export interface AppIdentity {
  slug: string;
  /** `<slug>[bot]`: the login GitHub gives the app's own comments. */
  login: string;
  /** The account that owns the app, lower-cased: the default ALLOWED_ACCOUNTS. */
  owner: string;
}

/** GitHub answered, and the answer means these settings will never work: retrying is pointless. */
export class AppRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AppRefused";
  }
}

/** What asking needs: an octokit authenticated as the app (Probot's `auth()` without an installation). */
export type AppAuth = () => Promise<{ request(route: "GET /app"): Promise<{ data: unknown }> }>;

/** Asks GitHub who the app is; AppRefused when the credentials are refused, any other error may pass. */
export async function fetchAppIdentity(auth: AppAuth, appId: number): Promise<AppIdentity> {
  let data: unknown;
  try {
    data = (await (await auth()).request("GET /app")).data;
  } catch (err) {
    const status = (err as { status?: unknown }).status;
    // 401: the JWT does not verify (wrong key, wrong APP_ID); 404: no such app.
    if (status === 401 || status === 404) {
      throw new AppRefused(
        `GitHub refused the app's credentials: APP_ID ${appId} and PRIVATE_KEY do not match (GET /app answered ${status}: ${firstLine((err as Error).message)})`,
      );
    }
    throw err;
  }
  const d = data as { slug?: unknown; owner?: { login?: unknown } | null } | null;
  if (typeof d?.slug !== "string" || d.slug === "" || typeof d.owner?.login !== "string" || d.owner.login === "") {
    throw new AppRefused(`GitHub's answer to GET /app names no slug and owner for APP_ID ${appId}`);
  }
  return { slug: d.slug, login: `${d.slug}[bot]`, owner: d.owner.login.toLowerCase() };
}

const firstLine = (s: string): string => s.split("\n")[0]!.slice(0, 200);

export interface WaitOptions {
  appId: number;
  log: Logger;
  /** Told why the app is not ready while it retries, and null once GitHub has answered. */
  onWaiting(reason: string | null): void;
  /** First pause between attempts (doubled each time up to maxDelayMs). */
  firstDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Asks GitHub who the app is until it answers: a refusal ends at once (AppRefused), an unreachable
 * or failing GitHub is asked again with exponential backoff, for as long as it takes.
 */
export async function waitForAppIdentity(auth: AppAuth, opts: WaitOptions): Promise<AppIdentity> {
  const max = opts.maxDelayMs ?? 60_000;
  let delay = opts.firstDelayMs ?? 1000;
  for (;;) {
    try {
      const identity = await fetchAppIdentity(auth, opts.appId);
      opts.onWaiting(null);
      return identity;
    } catch (err) {
      if (err instanceof AppRefused) throw err;
      const reason = `cannot reach GitHub to check the app's credentials (GET /app: ${firstLine((err as Error).message)})`;
      opts.onWaiting(reason);
      opts.log.warn({ retryInMs: delay }, `${reason}; retrying`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, max);
    }
  }
}
