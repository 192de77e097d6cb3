import type { GitHubStandIn, RecordedRequest } from "../sandbox/github.js";

const EMOJI: Record<string, string> = { "+1": "👍", "-1": "👎", laugh: "😄", confused: "😕", heart: "❤️", hooray: "🎉", rocket: "🚀", eyes: "👀" };

/** A comment body as a reader sees it: hidden HTML comments dropped, each line indented. */
export function quoted(body: string, indent = "      │ "): string[] {
  return body
    .split("\n")
    .filter((l) => !/^\s*<!--.*-->\s*$/.test(l))
    .map((l) => `${indent}${l}`.trimEnd());
}

/**
 * What the app wrote to the GitHub stand-in since `from` (an index into its request log), in
 * words: comments, card edits, reactions, labels. People's own writes are left out.
 */
export function botWrites(gh: GitHubStandIn, repo: string, issues: number[], from: number): string[] {
  const lines: string[] = [];
  const commentsOf = (n: number) => {
    try {
      return gh.comments(repo, n);
    } catch {
      return []; // not opened yet
    }
  };
  const issueOfComment = (id: number) => issues.find((n) => commentsOf(n).some((c) => c.id === id));
  const writes = gh.requests.slice(from).filter((q) => q.actor?.startsWith("installation:") && isWrite(q));
  for (const w of writes) {
    const body = (w.body ?? {}) as { body?: string; content?: string; labels?: string[] };
    const failed = w.status >= 400 ? ` → failed with HTTP ${w.status}` : "";
    let m: RegExpExecArray | null;
    if ((m = /\/issues\/(\d+)\/comments$/.exec(w.path)) && w.method === "POST") {
      const card = cardName(body.body);
      lines.push(`    bot ${card ? `posted ${card}` : "commented"} on #${m[1]}${failed}:`, ...quoted(body.body ?? ""));
    } else if ((m = /\/issues\/comments\/(\d+)$/.exec(w.path)) && w.method === "PATCH") {
      const card = cardName(body.body);
      lines.push(`    bot edited ${card ?? "its comment"} on #${issueOfComment(Number(m[1])) ?? "?"}${failed}:`, ...quoted(body.body ?? ""));
    } else if ((m = /\/issues\/comments\/(\d+)\/reactions$/.exec(w.path))) {
      const c = issues.flatMap(commentsOf).find((x) => x.id === Number(m![1]));
      lines.push(`    bot reacted ${EMOJI[body.content ?? ""] ?? body.content} to @${c?.user.login ?? "?"}'s comment${failed}`);
    } else if ((m = /\/issues\/(\d+)\/labels\/([^/]+)$/.exec(w.path)) && w.method === "DELETE") {
      lines.push(`    bot removed the label "${decodeURIComponent(m[2]!)}" from #${m[1]}${failed}`);
    } else if ((m = /\/issues\/(\d+)\/labels$/.exec(w.path))) {
      lines.push(`    bot labelled #${m[1]} ${(body.labels ?? []).map((l) => `"${l}"`).join(", ")}${failed}`);
    } else {
      lines.push(`    bot: ${w.method} ${w.path}${failed}`);
    }
  }
  return lines.length ? lines : ["    (the bot wrote nothing to GitHub)"];
}

/** "the bounty card", "the question card"… by the card's hidden marker (github/card.ts, github/keyedCards.ts); null for a reply. */
function cardName(body: string | undefined): string | null {
  const m = /<!-- bounty-bot:card(?::([a-z]+):[^ ]+)? -->/.exec(body ?? "");
  return m ? `the ${m[1] ?? "bounty"} card` : null;
}

function isWrite(q: RecordedRequest): boolean {
  if (q.path === "/graphql") return /^\s*mutation\b/.test(String((q.body as { query?: unknown } | undefined)?.query ?? ""));
  return q.method !== "GET" && q.method !== "HEAD" && !/\/access_tokens$/.test(q.path);
}
