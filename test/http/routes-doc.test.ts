import { readFileSync } from "node:fs";
import { useTestBot } from "../support/harness.js";

/** The README's "HTTP routes" rows, as "METHOD path" with `:name` segments. */
function documented(): string[] {
  const readme = readFileSync("README.md", "utf8");
  const section = readme.slice(readme.indexOf("### HTTP routes"), readme.indexOf("## How it works"));
  return [...section.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE)` \| `([^`]+)`/gm)].map((m) => `${m[1]} ${m[2]}`);
}

describe("the README's routes table", () => {
  const h = useTestBot("pglite", { token: false });

  test("lists exactly the routes the app mounts", () => {
    const mounted = h.bot.routes.map((r) => `${r.method} ${r.path === "/api/github/webhooks" ? "WEBHOOK_PATH" : r.path}`).sort();
    expect(documented().sort()).toEqual(mounted);
  });
});
