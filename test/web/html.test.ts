import { escapeHtml, html, raw } from "../../src/web/html.js";
import { boardQuery, layout } from "../../src/web/pages.js";

describe("the board's template layer", () => {
  test("escapes every interpolation, so a title like <script>alert(1)</script> shows as text", () => {
    const title = "<script>alert(1)</script>";
    expect(html`<h1>${title}</h1>`.text).toBe("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>");
    expect(html`<a href="${'" onmouseover="x'}">`.text).toBe('<a href="&quot; onmouseover=&quot;x">');
    expect(html`<i title='${"a'b"}'>${"&amp;"}</i>`.text).toBe("<i title='a&#39;b'>&amp;amp;</i>");
    expect(escapeHtml(`<>&"'`)).toBe("&lt;&gt;&amp;&quot;&#39;");
  });

  test("nests html fragments and trusts only raw, joins arrays, renders nothing for null, undefined and booleans", () => {
    const item = (s: string) => html`<li>${s}</li>`;
    expect(html`<ul>${["<a>", "b"].map(item)}</ul>`.text).toBe("<ul><li>&lt;a&gt;</li><li>b</li></ul>");
    expect(html`${raw("<br>")}${null}${undefined}${false}${true}${0}${12n}`.text).toBe("<br>012");
  });

  test("a page has landmarks, the app's own stylesheet and no script", () => {
    const page = layout({ title: "<b>x</b>", current: "board", body: html`<p>hi</p>` }).text;
    expect(page).toContain("<title>&lt;b&gt;x&lt;/b&gt; · bounty-bot</title>");
    expect(page).toMatch(/<header>[\s\S]*<nav aria-label="Board">[\s\S]*<main id="main">[\s\S]*<footer>/);
    expect(page).toContain('<link rel="stylesheet" href="/board/style.css">');
    expect(page).toContain('<a href="/board" aria-current="page">Bounties</a>');
    expect(page).not.toMatch(/<script|https?:\/\/(?!github\.com)/);
  });

  test("filter links keep the other filters and drop the page", () => {
    expect(boardQuery({ repo: "kubernetes/website", page: 3, privateRepos: false }, { label: "sig/node", page: undefined })).toBe("/board?repo=kubernetes%2Fwebsite&label=sig%2Fnode");
    expect(boardQuery({ sort: "age", minSats: 5n }, { page: "2" })).toBe("/board?min=5&sort=age&page=2");
    expect(boardQuery({}, {})).toBe("/board");
  });
});
