/**
 * A renderer for the small subset of Helm's Go templates that deploy/helm/bounty-bot uses (there is
 * no helm binary here): `{{ }}` actions with `{{-`/`-}}` trimming, comments, `.Values…`/`$…` field
 * chains, `$var :=`, `if`/`else if`/`else`, `with`, `range` (lists and maps, `$k, $v :=`),
 * `define`/`include`, pipelines, and the functions toYaml, nindent, indent, quote, default, not,
 * and, or, eq, ne, printf (%s, %d, %v) and required. Anything else is an error, so a template that
 * helm would read differently fails here instead of rendering something else.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";

type Value = unknown;

type Node =
  | { kind: "text"; text: string }
  | { kind: "output"; pipe: Pipeline; assign?: string }
  | { kind: "if"; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { kind: "with"; pipe: Pipeline; body: Node[]; otherwise: Node[] }
  | { kind: "range"; pipe: Pipeline; keyVar?: string; valueVar?: string; body: Node[]; otherwise: Node[] }
  | { kind: "define"; name: string; body: Node[] };

type Arg = { kind: "literal"; value: Value } | { kind: "field"; base: "." | "$" | string; path: string[] } | { kind: "ident"; name: string } | { kind: "sub"; pipe: Pipeline };
type Pipeline = Arg[][];

/** Splits a template into text and actions, applying `{{-` and `-}}`. */
function lex(src: string): ({ text: string } | { action: string })[] {
  const parts: ({ text: string } | { action: string })[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = src.slice(i, open < 0 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, "");
    if (open < 0) {
      parts.push({ text });
      break;
    }
    const close = src.indexOf("}}", open + 2);
    if (close < 0) throw new Error(`unclosed action at ${open}`);
    let inner = src.slice(open + 2, close);
    if (/^- /.test(inner) || inner === "-") {
      text = text.replace(/\s+$/, "");
      inner = inner.slice(1);
    }
    trimNext = / -$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    parts.push({ text });
    inner = inner.trim();
    if (!(inner.startsWith("/*") && inner.endsWith("*/"))) parts.push({ action: inner });
    i = close + 2;
  }
  return parts.filter((p) => !("text" in p) || p.text !== "");
}

function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\(|\)|\||:=|,|[^\s()|,]+)/y;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < expr.length && (m = re.exec(expr))) tokens.push(m[1]!);
  if (expr.slice(re.lastIndex).trim()) throw new Error(`cannot read "${expr}"`);
  return tokens;
}

function parsePipeline(tokens: string[], pos = { i: 0 }, inParens = false): Pipeline {
  const pipe: Pipeline = [[]];
  while (pos.i < tokens.length) {
    const t = tokens[pos.i++]!;
    if (t === ")") {
      if (!inParens) throw new Error("unexpected )");
      return pipe;
    }
    if (t === "|") {
      pipe.push([]);
      continue;
    }
    pipe.at(-1)!.push(parseArg(t, tokens, pos));
  }
  if (inParens) throw new Error("missing )");
  if (pipe.some((c) => c.length === 0)) throw new Error(`empty command in "${tokens.join(" ")}"`);
  return pipe;
}

function parseArg(t: string, tokens: string[], pos: { i: number }): Arg {
  if (t === "(") return { kind: "sub", pipe: parsePipeline(tokens, pos, true) };
  if (t.startsWith('"')) return { kind: "literal", value: JSON.parse(t) };
  if (t.startsWith("`")) return { kind: "literal", value: t.slice(1, -1) };
  if (/^-?\d+$/.test(t)) return { kind: "literal", value: Number(t) };
  if (t === "true" || t === "false") return { kind: "literal", value: t === "true" };
  if (t === "nil") return { kind: "literal", value: null };
  if (t === ".") return { kind: "field", base: ".", path: [] };
  if (t.startsWith(".")) return { kind: "field", base: ".", path: t.slice(1).split(".") };
  if (t.startsWith("$")) {
    const [base, ...path] = t.split(".");
    return { kind: "field", base: base!, path };
  }
  if (/^[A-Za-z]\w*$/.test(t)) return { kind: "ident", name: t };
  throw new Error(`cannot read "${t}"`);
}

/** `$a, $b := pipeline` or `$a := pipeline`: the variable names and the pipeline's tokens. */
function declarations(tokens: string[]): { vars: string[]; rest: string[] } {
  const at = tokens.indexOf(":=");
  if (at < 0) return { vars: [], rest: tokens };
  const vars = tokens.slice(0, at).filter((t) => t !== ",");
  if (!vars.every((v) => /^\$\w+$/.test(v)) || vars.length > 2) throw new Error(`bad declaration "${tokens.join(" ")}"`);
  return { vars, rest: tokens.slice(at + 1) };
}

function parse(src: string): Node[] {
  const parts = lex(src);
  let i = 0;
  /** Parses until one of `stops`; returns the nodes and the action that stopped it. */
  function block(stops: string[]): { nodes: Node[]; stop?: string } {
    const nodes: Node[] = [];
    while (i < parts.length) {
      const p = parts[i++]!;
      if ("text" in p) {
        nodes.push({ kind: "text", text: p.text });
        continue;
      }
      const a = p.action;
      const word = a.split(/\s+/)[0]!;
      if (stops.includes(word)) return { nodes, stop: a };
      if (word === "if") {
        const branches = [{ cond: parsePipeline(tokenize(a.slice(2))), body: [] as Node[] }];
        let otherwise: Node[] = [];
        for (;;) {
          const r = block(["else", "end"]);
          branches.at(-1)!.body = r.nodes;
          if (r.stop === "end") break;
          if (r.stop === undefined) throw new Error("if without end");
          const rest = r.stop.replace(/^else\s*/, "");
          if (rest.startsWith("if ")) {
            branches.push({ cond: parsePipeline(tokenize(rest.slice(3))), body: [] });
            continue;
          }
          const e = block(["end"]);
          if (e.stop !== "end") throw new Error("else without end");
          otherwise = e.nodes;
          break;
        }
        nodes.push({ kind: "if", branches, otherwise });
      } else if (word === "with" || word === "range") {
        const { vars, rest } = declarations(tokenize(a.slice(word.length)));
        const pipe = parsePipeline(rest);
        const r = block(["else", "end"]);
        let otherwise: Node[] = [];
        if (r.stop === "else") {
          const e = block(["end"]);
          if (e.stop !== "end") throw new Error(`${word} else without end`);
          otherwise = e.nodes;
        } else if (r.stop !== "end") throw new Error(`${word} without end`);
        if (word === "with") {
          if (vars.length) throw new Error("with declarations are not supported");
          nodes.push({ kind: "with", pipe, body: r.nodes, otherwise });
        } else {
          const [keyVar, valueVar] = vars.length === 2 ? vars : [undefined, vars[0]];
          nodes.push({ kind: "range", pipe, keyVar, valueVar, body: r.nodes, otherwise });
        }
      } else if (word === "define") {
        const name = JSON.parse(a.slice(6).trim()) as string;
        const r = block(["end"]);
        if (r.stop !== "end") throw new Error(`define ${name} without end`);
        nodes.push({ kind: "define", name, body: r.nodes });
      } else if (word === "end" || word === "else") {
        throw new Error(`unexpected {{ ${a} }}`);
      } else {
        const { vars, rest } = declarations(tokenize(a));
        if (vars.length > 1) throw new Error(`bad declaration "${a}"`);
        nodes.push({ kind: "output", pipe: parsePipeline(rest), assign: vars[0] });
      }
    }
    return { nodes };
  }
  const r = block([]);
  return r.nodes;
}

/** Go templates' truth: false, 0, nil, "" and empty lists and maps are false. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v as object).length > 0;
  return true;
}

const isMap = (v: Value): v is Record<string, Value> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What `toYaml` prints: sorted keys, no trailing newline (like Helm's sigs.k8s.io/yaml). */
export function toYaml(v: Value): string {
  if (v === undefined || v === null) return "null";
  return yaml.dump(v, { sortKeys: true, lineWidth: -1, noRefs: true }).replace(/\n$/, "");
}

const indentLines = (n: number, s: string) =>
  s
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");

function printed(v: Value): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "object") throw new Error(`cannot print ${JSON.stringify(v)} (use toYaml)`);
  return String(v);
}

interface Scope {
  dot: Value;
  vars: Record<string, Value>;
}

class Renderer {
  readonly defines = new Map<string, Node[]>();
  constructor(private readonly root: Value) {}

  collect(nodes: Node[]): void {
    for (const n of nodes) if (n.kind === "define") this.defines.set(n.name, n.body);
  }

  render(nodes: Node[], scope: Scope): string {
    let out = "";
    for (const n of nodes) {
      switch (n.kind) {
        case "text":
          out += n.text;
          break;
        case "define":
          break;
        case "output": {
          const v = this.pipeline(n.pipe, scope);
          if (n.assign) scope.vars[n.assign] = v;
          else out += printed(v);
          break;
        }
        case "if": {
          const branch = n.branches.find((b) => truthy(this.pipeline(b.cond, scope)));
          out += this.render(branch ? branch.body : n.otherwise, { dot: scope.dot, vars: Object.create(scope.vars) });
          break;
        }
        case "with": {
          const v = this.pipeline(n.pipe, scope);
          out += truthy(v) ? this.render(n.body, { dot: v, vars: Object.create(scope.vars) }) : this.render(n.otherwise, { dot: scope.dot, vars: Object.create(scope.vars) });
          break;
        }
        case "range": {
          const v = this.pipeline(n.pipe, scope);
          const entries: [Value, Value][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : isMap(v)
              ? Object.keys(v)
                  .sort()
                  .map((k) => [k, v[k]])
              : v === undefined || v === null
                ? []
                : (() => {
                    throw new Error(`cannot range over ${JSON.stringify(v)}`);
                  })();
          if (!entries.length) out += this.render(n.otherwise, { dot: scope.dot, vars: Object.create(scope.vars) });
          for (const [k, x] of entries) {
            const vars = Object.create(scope.vars) as Record<string, Value>;
            if (n.keyVar) vars[n.keyVar] = k;
            if (n.valueVar) vars[n.valueVar] = x;
            out += this.render(n.body, { dot: x, vars });
          }
          break;
        }
      }
    }
    return out;
  }

  private pipeline(pipe: Pipeline, scope: Scope): Value {
    let result: Value;
    pipe.forEach((cmd, i) => {
      result = this.command(cmd, scope, i === 0 ? [] : [result]);
    });
    return result;
  }

  private command(cmd: Arg[], scope: Scope, piped: Value[]): Value {
    const [head, ...rest] = cmd;
    if (head!.kind !== "ident") {
      if (rest.length || piped.length) throw new Error("only a function takes arguments");
      return this.arg(head!, scope);
    }
    const args = [...rest.map((a) => this.arg(a, scope)), ...piped];
    return this.call(head!.name, args);
  }

  private arg(a: Arg, scope: Scope): Value {
    switch (a.kind) {
      case "literal":
        return a.value;
      case "sub":
        return this.pipeline(a.pipe, scope);
      case "ident":
        return this.call(a.name, []);
      case "field": {
        let v: Value;
        if (a.base === ".") v = scope.dot;
        else if (a.base === "$") v = this.root;
        else if (a.base in scope.vars) v = scope.vars[a.base];
        else throw new Error(`undefined variable ${a.base}`);
        for (const key of a.path) {
          if (v === undefined || v === null) throw new Error(`nil pointer evaluating ${key} in ${a.base}.${a.path.join(".")}`);
          if (!isMap(v)) throw new Error(`cannot read ${key} of ${JSON.stringify(v)}`);
          v = v[key];
        }
        return v;
      }
    }
  }

  private call(name: string, args: Value[]): Value {
    const arity = (n: number) => {
      if (args.length !== n) throw new Error(`${name} takes ${n} arguments, got ${args.length}`);
    };
    switch (name) {
      case "include": {
        arity(2);
        const body = this.defines.get(args[0] as string);
        if (!body) throw new Error(`no template "${String(args[0])}"`);
        return this.render(body, { dot: args[1], vars: {} });
      }
      case "toYaml":
        arity(1);
        return toYaml(args[0]);
      case "nindent":
        arity(2);
        return `\n${indentLines(args[0] as number, printed(args[1]))}`;
      case "indent":
        arity(2);
        return indentLines(args[0] as number, printed(args[1]));
      case "quote":
        arity(1);
        return JSON.stringify(printed(args[0]));
      case "default":
        arity(2);
        return truthy(args[1]) ? args[1] : args[0];
      case "required":
        arity(2);
        if (!truthy(args[1])) throw new Error(String(args[0]));
        return args[1];
      case "not":
        arity(1);
        return !truthy(args[0]);
      case "and":
        return args.find((a) => !truthy(a)) ?? args.at(-1);
      case "or":
        return args.find((a) => truthy(a)) ?? args.at(-1);
      case "eq":
        arity(2);
        return args[0] === args[1];
      case "ne":
        arity(2);
        return args[0] !== args[1];
      case "printf": {
        const [format, ...rest] = args as [string, ...Value[]];
        let k = 0;
        return format.replace(/%[sdv]/g, () => printed(rest[k++]));
      }
      default:
        throw new Error(`function "${name}" is not in the supported subset`);
    }
  }
}

/** Helm's value merge: maps merge key by key, anything else (lists included) is replaced. */
export function mergeValues(base: Value, over: Value): Value {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, Value> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? mergeValues(base[k], v) : v;
  return out;
}

export interface Release {
  name: string;
  namespace?: string;
  /** `.Release.Service`: "Helm" under helm. */
  service?: string;
}

/**
 * Renders a chart like `helm template`: every template not starting with `_`, each under a
 * `# Source:` line, documents separated by `---`; values.yaml merged with `overrides` in order.
 */
export function renderChart(chartDir: string, release: Release, ...overrides: Value[]): string {
  const chart = yaml.load(readFileSync(join(chartDir, "Chart.yaml"), "utf8")) as Record<string, string>;
  const values = overrides.reduce<Value>((v, o) => mergeValues(v, o), yaml.load(readFileSync(join(chartDir, "values.yaml"), "utf8")) ?? {});
  const root = {
    Values: values,
    Release: { Name: release.name, Namespace: release.namespace ?? "default", Service: release.service ?? "Helm" },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const renderer = new Renderer(root);
  const dir = join(chartDir, "templates");
  const templates = readdirSync(dir)
    .filter((f) => /\.(ya?ml|tpl)$/.test(f))
    .sort()
    .map((f) => ({ file: f, nodes: parse(readFileSync(join(dir, f), "utf8")) }));
  for (const t of templates) renderer.collect(t.nodes);
  const docs: string[] = [];
  for (const t of templates.filter((x) => !x.file.startsWith("_") && !x.file.endsWith(".tpl"))) {
    let text: string;
    try {
      text = renderer.render(t.nodes, { dot: root, vars: {} });
    } catch (err) {
      throw new Error(`${t.file}: ${(err as Error).message}`);
    }
    for (const doc of text.split(/^---\s*$/m)) {
      if (doc.trim()) docs.push(`# Source: ${chart.name}/templates/${t.file}\n${doc.replace(/^\n+/, "").replace(/\s+$/, "")}\n`);
    }
  }
  return docs.map((d) => `---\n${d}`).join("");
}

/** The chart's directory and the plain manifests' file, from the repository root. */
export const CHART_DIR = "deploy/helm/bounty-bot";
export const PLAIN_MANIFESTS = "deploy/k8s/bounty-bot.yaml";

/** deploy/k8s/bounty-bot.yaml: the chart rendered with its default values, for people without Helm. */
export function plainManifests(repoRoot: string): string {
  const header = [
    "# bounty-bot for `kubectl apply -n <namespace> -f deploy/k8s/`: the Helm chart in deploy/helm/bounty-bot",
    "# rendered with its default values (release name bounty-bot). Generated by `npm run render-k8s`; do not edit:",
    "# change the chart and render again (test/deploy/helm.test.ts fails when this file differs).",
    "# Create the Secret bounty-bot-github first (see the README's \"Running in Kubernetes\").",
  ].join("\n");
  return `${header}\n${renderChart(join(repoRoot, CHART_DIR), { name: "bounty-bot", service: "kubectl" })}`;
}
