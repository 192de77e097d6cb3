import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ENV_GROUPS, ENV_VARS, SYSTEM_ENV, renderEnvExample, renderEnvTable, withEnvTable } from "../../src/config/env.js";

const drift = "run `npm run docs` to regenerate it from src/config/env.ts";

describe("the environment schema and its docs", () => {
  it("README's Environment table is the schema's rendering", () => {
    const readme = readFileSync("README.md", "utf8");
    expect({ readme: withEnvTable(readme), hint: drift }).toEqual({ readme, hint: drift });
  });

  it(".env.example is the schema's rendering", () => {
    expect({ file: readFileSync(".env.example", "utf8"), hint: drift }).toEqual({ file: renderEnvExample(), hint: drift });
  });

  it("lists each variable once, in a known group, with a meaning", () => {
    const names = ENV_VARS.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const v of ENV_VARS) {
      expect(ENV_GROUPS).toContain(v.group);
      expect(v.meaning.trim()).not.toBe("");
      expect(v.default.trim()).not.toBe("");
    }
    expect(renderEnvTable().split("\n").filter((l) => l.startsWith("| `"))).toHaveLength(ENV_VARS.length);
  });

  it("documents every variable the code reads", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith(".ts") ? [join(dir, f)] : []));
    const read = new Set<string>();
    const patterns = [
      /\b(?:v|values|defaults)\.([A-Z][A-Z0-9_]*)\b/g, // a value of the schema's parse (readEnv)
      /\b(?:has|get)\("([A-Z][A-Z0-9_]*)"\)/g, // given.has("HOST"), read.errors.has(…)
      /\benv\.([A-Z][A-Z0-9_]*)\b/g,
      /\benv\[["']([A-Z][A-Z0-9_]*)["']\]/g,
    ];
    for (const file of files("src")) {
      const text = readFileSync(file, "utf8");
      for (const p of patterns) for (const m of text.matchAll(p)) read.add(m[1]!);
    }
    const documented = new Set<string>([...ENV_VARS.map((v) => v.name), ...SYSTEM_ENV]);
    expect([...read].filter((n) => !documented.has(n)).sort()).toEqual([]);
    // The scan finds what it should (so an empty answer above means something).
    expect(read.has("PAYOUT_HOLD") && read.has("WALLET_GAP_LIMIT") && read.has("PRICE_SOURCES") && read.has("APP_ID")).toBe(true);
    // And nothing documented is stale: every variable of the schema is used by a setting.
    expect(ENV_VARS.map((v) => v.name).filter((n) => !read.has(n))).toEqual([]);
  });
});
