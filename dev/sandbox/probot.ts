/**
 * Probot plumbing for the sandbox (benchmark, offline demo, tests).
 *
 * Probot 14 wires @octokit/plugin-throttling into every Octokit it makes. The
 * plugin serialises writes per throttle id through process-wide Bottleneck
 * groups: any non-GET request (and every GraphQL call) waits for the "write"
 * group (1 at a time, >= 1 s apart) and a POST that notifies people (e.g.
 * `POST /repos/{o}/{r}/issues/{n}/comments`) also waits for the
 * "notifications" group (>= 3 s apart). Octokits from `probot.auth(id)` use the
 * installation id as throttle id; `context.octokit` in webhook handlers is
 * built from the app's options and keeps the default id "no-id", so all
 * installations share one queue. A burst of N slash commands that each post a
 * reply therefore takes about 3·N seconds against any host, stand-in included.
 */
import { ProbotOctokit } from "probot";

type ThrottleAware = { throttle?: Record<string, unknown> } & Record<string, unknown>;

/**
 * ProbotOctokit with the throttling plugin disabled for the app, installation
 * and event Octokits alike: `new Probot({ ..., Octokit: ProbotOctokitUnthrottled })`.
 *
 * Passing `{ throttle: { enabled: false } }` as plain defaults does NOT work:
 * Probot's own options replace the whole `throttle` object. A function default
 * runs after Probot's and keeps the flag.
 */
export const ProbotOctokitUnthrottled: typeof ProbotOctokit = ProbotOctokit.defaults((options: ThrottleAware) => ({
  ...options,
  throttle: { ...(options.throttle ?? {}), enabled: false },
}));
