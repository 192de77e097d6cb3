#!/usr/bin/env node
// Checks a bounty-bot solvency report on your own machine: that your balance is counted in the
// published Merkle sum tree, that the tree's total is the total owed to people, and that the
// wallet's listed coins cover what is owed. It lists the coins so you can look each one up on a
// block explorer: this script trusts the server's word for them, the explorer does not.
//
//   node scripts/verify-solvency.mjs <base-url> <login>
//   node scripts/verify-solvency.mjs <base-url> <proof.json>   (a proof saved from /api/v1/solvency/proof/<login>)
//
// Plain Node 20 or later, no dependencies; it shares no code with the app on purpose (the rules
// are recomputed here from the README's description). Exit 0: OK; 1: FAIL; 2: bad arguments.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

const SCHEME = "bounty-bot-merkle-sum-v1";
const MAX_U64 = (1n << 64n) - 1n;
const EXPLORERS = {
  mainnet: "https://mempool.space/tx/",
  testnet: "https://mempool.space/testnet/tx/",
  testnet4: "https://mempool.space/testnet4/tx/",
  signet: "https://mempool.space/signet/tx/",
};

function usage(message) {
  if (message) console.error(`verify-solvency: ${message}`);
  console.error("usage: node scripts/verify-solvency.mjs <base-url> <login | proof.json>");
  process.exit(2);
}

class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message);
};

function u64(n, what) {
  if (n < 0n || n > MAX_U64) fail(`${what} does not fit in 8 bytes: ${n}`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const decimal = (s, what) => {
  if (typeof s !== "string" || !/^(0|[1-9]\d{0,19})$/.test(s)) fail(`${what} is not a whole number of sats: ${JSON.stringify(s)}`);
  return BigInt(s);
};
const hex32 = (s, what) => {
  if (typeof s !== "string" || !/^[0-9a-f]{64}$/.test(s)) fail(`${what} is not 32 bytes of hex: ${JSON.stringify(s)}`);
  return Buffer.from(s, "hex");
};
const fmt = (n) => `${n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",")} sats`;

/** leaf = H("leaf" ‖ salt ‖ user id ‖ balance); node = H("node" ‖ left hash ‖ left sum ‖ right hash ‖ right sum). */
function recomputeRoot(proof) {
  const balance = decimal(proof.balance, "the proof's balance");
  const userId = decimal(proof.user_id, "the proof's user id");
  const salt = hex32(proof.salt, "the proof's salt");
  let node = { hash: sha256(Buffer.from("leaf"), salt, u64(userId, "user id"), u64(balance, "balance")), sum: balance };
  if (!Array.isArray(proof.path)) fail("the proof's path is not a list");
  proof.path.forEach((step, i) => {
    const sibling = { hash: hex32(step.hash, `path[${i}].hash`), sum: decimal(step.sum, `path[${i}].sum`) };
    const [left, right] = step.side === "left" ? [sibling, node] : step.side === "right" ? [node, sibling] : fail(`path[${i}].side is ${JSON.stringify(step.side)}`);
    const sum = left.sum + right.sum;
    u64(sum, `the sum at level ${i + 1}`);
    node = { hash: sha256(Buffer.from("node"), left.hash, u64(left.sum, "a sum"), right.hash, u64(right.sum, "a sum")), sum };
  });
  return { node, balance, userId };
}

async function getJson(url) {
  let res;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
  } catch (err) {
    fail(`GET ${url} failed: ${err.cause?.message ?? err.message}`);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    fail(`GET ${url} answered ${res.status} with something that is not JSON`);
  }
  if (!res.ok) fail(`GET ${url} answered ${res.status}: ${body.detail ?? text.slice(0, 200)}`);
  return body;
}

function readProofFile(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    fail(`${path} is not a proof saved as JSON: ${err.message}`);
  }
}

async function main() {
  const [base, who, ...extra] = process.argv.slice(2);
  if (!base || !who || extra.length) usage();
  let baseUrl;
  try {
    baseUrl = new URL(base);
  } catch {
    usage(`${base} is not a URL`);
  }
  const root = baseUrl.href.replace(/\/+$/, "");
  const reportUrl = `${root}/api/v1/solvency`;
  const fromFile = existsSync(who) && /\.json$/i.test(who);
  const proofUrl = fromFile ? null : `${root}/api/v1/solvency/proof/${encodeURIComponent(who)}`;

  let report = await getJson(reportUrl);
  let proofDoc = fromFile ? readProofFile(who) : await getJson(proofUrl);
  // The server rebuilds its report every minute or so: two requests may straddle a rebuild.
  if (!fromFile && proofDoc.epoch !== report.epoch) {
    report = await getJson(reportUrl);
    proofDoc = await getJson(proofUrl);
  }
  const problems = [];
  if (report.scheme !== SCHEME) fail(`the report's scheme is ${JSON.stringify(report.scheme)}, this script checks ${SCHEME}`);
  if (proofDoc.scheme !== SCHEME) fail(`the proof's scheme is ${JSON.stringify(proofDoc.scheme)}, this script checks ${SCHEME}`);

  console.log(`Solvency report ${report.generated_at} (${report.network}) from ${reportUrl}`);
  const owed = decimal(report.owed?.total_sats, "owed.total_sats");
  const people = decimal(report.owed?.people_sats, "owed.people_sats");
  const charities = decimal(report.owed?.charities_sats, "owed.charities_sats");
  const escrow = decimal(report.owed?.escrow_sats, "owed.escrow_sats");
  const rootHash = hex32(report.root?.hash, "root.hash");
  const rootSum = decimal(report.root?.sum, "root.sum");
  console.log(`  owed in total:  ${fmt(owed)} (people ${fmt(people)}, charities ${fmt(charities)}, escrow ${fmt(escrow)})`);
  console.log(`  tree root:      ${rootHash.toString("hex")} summing to ${fmt(rootSum)} over ${report.leaf_count} ${report.leaf_count === 1 ? "person" : "people"}`);
  if (rootSum !== people) problems.push(`the tree's root sums to ${fmt(rootSum)}, but the report says people are owed ${fmt(people)}`);
  if (people + charities + escrow !== owed) problems.push(`people + charities + escrow is ${fmt(people + charities + escrow)}, not the total ${fmt(owed)}`);

  const { node, balance, userId } = recomputeRoot(proofDoc.proof ?? fail("the proof document has no proof"));
  const login = proofDoc.login ?? who;
  console.log(`Your leaf (${login}, GitHub user id ${userId}: check it is yours at https://api.github.com/users/${login}):`);
  console.log(`  balance counted: ${fmt(balance)}; compare it with your /balance (funds + earnings, escrow included)`);
  if (proofDoc.epoch !== report.epoch) {
    problems.push(`the proof is for the report of ${proofDoc.generated_at}, not the current one of ${report.generated_at}: fetch a fresh proof`);
  } else if (!node.hash.equals(rootHash)) {
    problems.push(`your path leads to root ${node.hash.toString("hex")}, not the published one`);
  } else if (node.sum !== rootSum) {
    problems.push(`your path sums to ${fmt(node.sum)}, not the published ${fmt(rootSum)}`);
  } else {
    console.log(`  recomputed root: ${node.hash.toString("hex")} summing to ${fmt(node.sum)}: matches`);
  }

  const w = report.wallet;
  if (!w) {
    console.log(`Wallet: none listed (${report.wallet_note ?? "no payout wallet"})`);
    if (owed > 0n) problems.push(`${fmt(owed)} is owed and the report lists no coins to cover it`);
  } else {
    const outpoints = Array.isArray(w.outpoints) ? w.outpoints : fail("wallet.outpoints is not a list");
    let total = 0n;
    const explorer = EXPLORERS[report.network];
    console.log(`Wallet: ${outpoints.length} ${outpoints.length === 1 ? "coin" : "coins"}; look each up on a block explorer:`);
    for (const o of outpoints) {
      const sats = decimal(o.sats, `the coin ${o.outpoint}`);
      total += sats;
      console.log(`  ${o.txid}:${o.vout}  ${fmt(sats)}${o.confirmed ? "" : " (unconfirmed)"}${explorer ? `  ${explorer}${o.txid}` : ""}`);
    }
    console.log(`  coins in total: ${fmt(total)}`);
    if (total !== decimal(w.total_sats, "wallet.total_sats")) problems.push(`the coins add up to ${fmt(total)}, not the listed total ${w.total_sats}`);
    if (total < owed) problems.push(`the coins (${fmt(total)}) do not cover what is owed (${fmt(owed)}): ${fmt(owed - total)} short`);
  }

  if (problems.length) {
    for (const p of problems) console.log(`FAIL: ${p}`);
    process.exit(1);
  }
  console.log(`OK: your balance of ${fmt(balance)} is counted in the published total, and the listed coins cover what is owed.`);
}

main().catch((err) => {
  if (err instanceof Failure) {
    console.log(`FAIL: ${err.message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});
