/** The board's one stylesheet, served at /board/style.css: light and dark from prefers-color-scheme, no web fonts. */
export const BOARD_CSS = `:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#4f5863;--line:#d0d7de;--link:#0b57d0;--chip:#eef2f6;--chip-fg:#1b1f24;--accent:#7a3e00;--head:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--bg:#0f1216;--fg:#e6e9ed;--muted:#aab4bf;--line:#38414b;--link:#8ab4f8;--chip:#222a33;--chip-fg:#e6e9ed;--accent:#ffb86b;--head:#171c22}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--link)}a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible{outline:2px solid var(--link);outline-offset:2px}
header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:1rem;border-bottom:1px solid var(--line);padding-top:.75rem;padding-bottom:.5rem}
header .brand{font-weight:700;font-size:1.1rem;text-decoration:none;color:var(--fg)}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;padding:0}
a[aria-current]{font-weight:700;color:var(--fg)}
h1{font-size:1.4rem;margin:1rem 0 .5rem}h2{font-size:1.1rem;margin:1.25rem 0 .5rem}
.muted{color:var(--muted)}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0 1rem;padding:.75rem;border:1px solid var(--line);border-radius:6px;background:var(--head)}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:var(--muted)}
select,input,button{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:4px;padding:.25rem .5rem}
button{cursor:pointer;background:var(--chip)}
table{width:100%;border-collapse:collapse;margin-bottom:1rem}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{text-align:left;vertical-align:top;padding:.4rem .5rem;border-bottom:1px solid var(--line)}
th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul.chips{display:flex;flex-wrap:wrap;gap:.25rem;list-style:none;margin:.25rem 0 0;padding:0}
.chip{display:inline-block;padding:0 .5rem;border-radius:999px;background:var(--chip);color:var(--chip-fg);border:1px solid var(--line);font-size:.8rem;text-decoration:none}
.taken{color:var(--accent);font-weight:600}
.summary{display:flex;flex-wrap:wrap;gap:1rem;margin:.5rem 0 1rem}
.summary div{border:1px solid var(--line);border-radius:6px;padding:.5rem .75rem;min-width:12rem}
.summary strong{display:block;font-size:1.2rem}
.pager{display:flex;gap:1rem;margin:1rem 0}
code{font-size:.85em;word-break:break-all}
footer{border-top:1px solid var(--line);margin-top:2rem;padding-top:.5rem;padding-bottom:1rem;font-size:.85rem;color:var(--muted)}
`;
