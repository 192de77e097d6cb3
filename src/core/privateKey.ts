import { createPrivateKey } from "node:crypto";

/**
 * The GitHub App's private key as the environment carries it, however it was mangled on the way:
 * surrounding quotes (Probot's .env writes `PRIVATE_KEY="…"`, which `docker run --env-file` keeps),
 * `\n` escapes instead of line breaks, `\r\n` line ends, or the whole PEM base64-encoded (as a
 * Kubernetes Secret's data holds it). Returns the key as a clean PKCS#1 PEM, or an error naming `name`.
 */
export function readPrivateKey(text: string, name: string): { ok: true; pem: string } | { ok: false; error: string } {
  let t = text.trim();
  // A lone opening quote too: all that is left of a quoted multi-line value after `--env-file`.
  t = t.replace(/^["']+/, "").replace(/["']+$/, "").trim();
  t = t.replace(/\\r\\n|\\n|\\r/g, "\n").replace(/\r\n?/g, "\n");
  if (!t.includes("-----BEGIN") && /^[A-Za-z0-9+/=\s]+$/.test(t)) {
    const decoded = Buffer.from(t.replace(/\s+/g, ""), "base64").toString("utf8");
    if (decoded.includes("-----BEGIN")) t = decoded.replace(/\r\n?/g, "\n").trim();
  }
  const hint = "the PEM GitHub gave when the app was registered; with `docker run --env-file` set PRIVATE_KEY_PATH to the .pem file instead";
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(t)) return { ok: false, error: `${name} is not a PEM private key: it should hold ${hint}` };
  try {
    const key = createPrivateKey({ key: t, format: "pem" });
    if (key.asymmetricKeyType !== "rsa") return { ok: false, error: `${name} is a ${key.asymmetricKeyType} key; GitHub Apps sign with RSA keys (${hint})` };
    return { ok: true, pem: key.export({ type: "pkcs1", format: "pem" }).toString() };
  } catch {
    // Only the first line survives when a multi-line value passes through `docker run --env-file`.
    const cut = !/-----END [A-Z ]*PRIVATE KEY-----/.test(t) ? " (it is cut short: no -----END line)" : "";
    return { ok: false, error: `${name} cannot be read as a PEM private key${cut}: it should hold ${hint}` };
  }
}
