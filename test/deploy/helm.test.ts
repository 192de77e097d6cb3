import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { CHART_DIR, PLAIN_MANIFESTS, mergeValues, plainManifests, renderChart } from "../support/helm.js";

const root = join(import.meta.dirname, "../..");
const chart = join(root, CHART_DIR);
type K8s = Record<string, any>;

const objects = (text: string): K8s[] => yaml.loadAll(text).filter((d): d is K8s => d !== null && d !== undefined) as K8s[];
const render = (...overrides: unknown[]) => objects(renderChart(chart, { name: "bounty" }, ...overrides));
const postgresValues = () => yaml.load(readFileSync(join(import.meta.dirname, "values-postgres.yaml"), "utf8"));
const one = (objs: K8s[], kind: string): K8s => {
  const found = objs.filter((o) => o.kind === kind);
  expect(found).toHaveLength(1);
  return found[0]!;
};
const container = (objs: K8s[]) => one(objs, "Deployment").spec.template.spec.containers[0];
const envOf = (objs: K8s[]) => Object.fromEntries((container(objs).env as K8s[]).map((e) => [e.name, e]));
/** The file a mounted Secret key appears as: mount path + item path. */
function secretFile(objs: K8s[], secretName: string, key: string): string {
  const pod = one(objs, "Deployment").spec.template.spec;
  const volume = (pod.volumes as K8s[]).find((v) => v.secret?.secretName === secretName);
  expect(volume).toBeDefined();
  const item = (volume!.secret.items as K8s[]).find((i) => i.key === key);
  expect(item).toBeDefined();
  const mount = (container(objs).volumeMounts as K8s[]).find((m) => m.name === volume!.name);
  expect(mount?.readOnly).toBe(true);
  return `${mount!.mountPath}/${item!.path}`;
}

/** Every setting that is a credential comes from a Secret (a reference or a mounted file), never as a value. */
function expectNoPlainSecrets(objs: K8s[]): void {
  expect(objs.filter((o) => o.kind === "Secret")).toEqual([]);
  for (const e of container(objs).env as K8s[]) {
    if (/KEY|SECRET|MNEMONIC|PASSPHRASE|TOKEN|PASSWORD|DATABASE_URL|APP_ID/.test(e.name) && !/_(PATH|FILE)$/.test(e.name)) {
      expect([e.name, e.value]).toEqual([e.name, undefined]);
      expect(e.valueFrom.secretKeyRef).toEqual({ name: expect.any(String), key: expect.any(String) });
    }
  }
}

function expectHardenedPod(objs: K8s[]): void {
  const pod = one(objs, "Deployment").spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } });
  expect(pod.automountServiceAccountToken).toBe(false);
  const c = container(objs);
  expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  const tmp = (c.volumeMounts as K8s[]).find((m) => m.mountPath === "/tmp");
  expect((pod.volumes as K8s[]).find((v) => v.name === tmp?.name)).toEqual({ name: tmp!.name, emptyDir: {} });
  expect(c.ports).toEqual([{ name: "http", containerPort: 3000, protocol: "TCP" }]);
  expect(envOf(objs).PORT.value).toBe("3000");
  expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
  expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
  expect(c.resources.limits.memory).toBe("512Mi");
  // GitHub's credentials: the id and webhook secret by reference, the key as a file the app reads.
  const env = envOf(objs);
  expect(env.APP_ID.valueFrom.secretKeyRef).toEqual({ name: "bounty-bot-github", key: "app-id" });
  expect(env.WEBHOOK_SECRET.valueFrom.secretKeyRef).toEqual({ name: "bounty-bot-github", key: "webhook-secret" });
  expect(env.PRIVATE_KEY).toBeUndefined();
  expect(env.PRIVATE_KEY_PATH.value).toBe(secretFile(objs, "bounty-bot-github", "private-key"));
  // The Service reaches these pods on the named port.
  const service = one(objs, "Service");
  expect(service.spec.selector).toEqual(one(objs, "Deployment").spec.selector.matchLabels);
  expect(one(objs, "Deployment").spec.template.metadata.labels).toMatchObject(service.spec.selector);
  expect(service.spec.ports[0].targetPort).toBe("http");
  expectNoPlainSecrets(objs);
}

describe("Helm chart deploy/helm/bounty-bot", () => {
  test("default values: PGlite on a claim, one replica, Recreate, no ingress or ServiceMonitor", () => {
    const objs = render();
    expect(objs.map((o) => o.kind).sort()).toEqual(["Deployment", "PersistentVolumeClaim", "Service"]);
    for (const o of objs) expect(o.metadata.name).toMatch(/^bounty/);
    const deploy = one(objs, "Deployment");
    expect(deploy.apiVersion).toBe("apps/v1");
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.strategy).toEqual({ type: "Recreate" });
    expectHardenedPod(objs);
    const env = envOf(objs);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.WALLET_MNEMONIC_FILE).toBeUndefined(); // no wallet unless one is named
    const pvc = one(objs, "PersistentVolumeClaim");
    expect(pvc.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } });
    expect(pvc.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");
    const data = (deploy.spec.template.spec.volumes as K8s[]).find((v) => v.persistentVolumeClaim)!;
    expect(data.persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect((container(objs).volumeMounts as K8s[]).find((m) => m.name === data.name)!.mountPath).toBe(env.DATA_DIR.value);
    expect(container(objs).image).toBe("bounty-bot:0.1.0");
  });

  test("PostgreSQL, 3 replicas, ingress and ServiceMonitor: rolling updates, no claim, every secret by reference", () => {
    const objs = render(postgresValues());
    expect(objs.map((o) => o.kind).sort()).toEqual(["Deployment", "Ingress", "Service", "ServiceMonitor"]);
    const deploy = one(objs, "Deployment");
    expect(deploy.spec.replicas).toBe(3);
    expect(deploy.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expectHardenedPod(objs);
    const env = envOf(objs);
    expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: "bounty-bot-postgres", key: "database-url" });
    expect(env.DATA_DIR).toBeUndefined();
    expect((deploy.spec.template.spec.volumes as K8s[]).filter((v) => v.persistentVolumeClaim)).toEqual([]);
    expect(env.WALLET_MNEMONIC_FILE.value).toBe(secretFile(objs, "bounty-bot-wallet", "mnemonic"));
    expect(env.WALLET_MNEMONIC).toBeUndefined();
    expect(env.WALLET_PASSPHRASE.valueFrom.secretKeyRef).toEqual({ name: "bounty-bot-wallet", key: "passphrase" });
    expect(env.METRICS_TOKEN.valueFrom.secretKeyRef).toEqual({ name: "bounty-bot-metrics", key: "metrics-token" });
    // The env map becomes string values (a number in values.yaml too).
    expect(env.PAYOUT_MIN_SATS.value).toBe("20000");
    expect(env.ALLOWED_ACCOUNTS.value).toBe("kubernetes,kubernetes-sigs");
    expect(env.BITCOIN_NETWORK.value).toBe("bitcoin");
    expect(container(objs).image).toBe("ghcr.io/example/bounty-bot:1.2.3");

    const service = one(objs, "Service");
    const ingress = one(objs, "Ingress");
    expect(ingress.apiVersion).toBe("networking.k8s.io/v1");
    expect(ingress.spec.ingressClassName).toBe("nginx");
    expect(ingress.spec.tls).toEqual([{ secretName: "bounty-tls", hosts: ["bounty.k8s.example"] }]);
    expect(ingress.spec.rules).toEqual([
      {
        host: "bounty.k8s.example",
        http: { paths: [{ path: "/api/github/webhooks", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: "http" } } } }] },
      },
    ]);
    const monitor = one(objs, "ServiceMonitor");
    expect(monitor.apiVersion).toBe("monitoring.coreos.com/v1");
    expect(monitor.metadata.labels.release).toBe("prometheus");
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([
      { port: "http", path: "/metrics", interval: "60s", bearerTokenSecret: { name: "bounty-bot-metrics", key: "metrics-token" } },
    ]);
  });

  test("an existing claim is used instead of creating one", () => {
    const objs = render({ persistence: { existingClaim: "ledger" } });
    expect(objs.map((o) => o.kind).sort()).toEqual(["Deployment", "Service"]);
    const volumes = one(objs, "Deployment").spec.template.spec.volumes as K8s[];
    expect(volumes.find((v) => v.persistentVolumeClaim)!.persistentVolumeClaim.claimName).toBe("ledger");
  });

  test(`the committed ${PLAIN_MANIFESTS} is the rendering of the default values (npm run render-k8s)`, () => {
    const committed = readFileSync(join(root, PLAIN_MANIFESTS), "utf8");
    expect(committed).toBe(plainManifests(root));
    expect(objects(committed).map((o) => o.kind).sort()).toEqual(["Deployment", "PersistentVolumeClaim", "Service"]);
  });
});

describe("the template renderer (test/support/helm.ts)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bounty-chart-"));
    mkdirSync(join(dir, "templates"));
    writeFileSync(join(dir, "Chart.yaml"), "name: demo\nversion: 1.0.0\nappVersion: '2.0'\n");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const renderOne = (template: string, values: unknown = {}, helpers = "") => {
    writeFileSync(join(dir, "values.yaml"), yaml.dump(values));
    writeFileSync(join(dir, "templates", "_helpers.tpl"), helpers);
    writeFileSync(join(dir, "templates", "t.yaml"), template);
    return renderChart(dir, { name: "rel" }).replace(/^---\n# Source: demo\/templates\/t.yaml\n/, "");
  };

  test.each([
    ["a: {{ .Values.x }}", { x: 3 }, "a: 3\n"],
    ["a:\n  {{- if .Values.on }}\n  b: 1\n  {{- else if .Values.other }}\n  b: 2\n  {{- else }}\n  b: 3\n  {{- end }}", { on: false, other: "yes" }, "a:\n  b: 2\n"],
    ["{{- with .Values.m }}m: {{ .k }}{{ else }}none: true{{ end }}", { m: {} }, "none: true\n"],
    ["l:\n{{- range $k, $v := .Values.m }}\n  - {{ $k }}={{ $v | quote }}\n{{- end }}", { m: { b: 2, a: "x" } }, 'l:\n  - a="x"\n  - b="2"\n'],
    ["l:\n{{- range .Values.l }}\n  - {{ . }} of {{ $.Release.Name }}\n{{- end }}", { l: ["p", "q"] }, "l:\n  - p of rel\n  - q of rel\n"],
    ["y:\n  {{- toYaml .Values.m | nindent 2 }}", { m: { z: [1], a: "s" } }, "y:\n  a: s\n  z:\n    - 1\n"],
    ['n: {{ default "dflt" .Values.none }} {{ .Values.t | default "x" }} {{ .Chart.AppVersion }}', { none: "", t: "set" }, "n: dflt set 2.0\n"],
    ['{{/* a comment */}}n: {{ include "demo.name" . }}', {}, "n: demo-rel\n"],
    ["a: {{ and .Values.x (not .Values.y) }} {{ or .Values.y .Values.x }}", { x: 1, y: 0 }, "a: true 1\n"],
  ])("renders %j", (template, values, expected) => {
    expect(renderOne(template, values, '{{- define "demo.name" -}}{{ printf "%s-%s" .Chart.Name .Release.Name }}{{- end -}}')).toBe(expected);
  });

  test.each([
    ["{{ .Values.a.b }}", /nil pointer/],
    ["{{ .Values.m }}", /cannot print/],
    ["{{ lookup \"v1\" \"Secret\" \"\" \"x\" }}", /not in the supported subset/],
    ["{{ if .Values.x }}open", /if without end/],
    ['{{ include "missing" . }}', /no template "missing"/],
  ])("%j is an error, not a guess", (template, error) => {
    expect(() => renderOne(template, { m: { k: 1 } })).toThrow(error);
  });

  test("values merge like helm's: maps key by key, lists replaced", () => {
    expect(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 })).toEqual({ a: { b: 1, c: [3] }, d: 1, e: 2 });
  });
});
