import { readFileSync } from "node:fs";
import { README_SECTIONS, withGeneratedSections } from "../../src/config/readme.js";

const readme = readFileSync("README.md", "utf8");

describe("the README's generated tables", () => {
  test.each(Object.keys(README_SECTIONS))("%s is what `npm run docs` writes from its source", (name) => {
    const start = `<!-- ${name}:start -->\n`;
    const end = `<!-- ${name}:end -->`;
    const a = readme.indexOf(start);
    const b = readme.indexOf(end);
    expect(a).toBeGreaterThan(-1);
    expect(readme.slice(a + start.length, b)).toBe(README_SECTIONS[name]!());
  });

  test("regenerating changes nothing", () => {
    expect(withGeneratedSections(readme)).toBe(readme);
  });

  test("a README without a section's markers is refused, not silently left stale", () => {
    expect(() => withGeneratedSections("# no markers\n")).toThrow(/has no <!-- commands-table:start -->/);
  });
});
