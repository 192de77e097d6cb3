/**
 * A Merkle sum tree over what the app owes each person, for the public proof of liabilities
 * (GET /api/v1/solvency), in the manner of Maxwell's proof-of-reserves scheme with the known fix
 * of hashing both children's sums: a node commits to each child's hash and sum, so a sum cannot be
 * moved from one side to the other unseen. Pure: node:crypto only.
 *
 * Every field is fixed width (hashes 32 bytes, user ids and sums 8 bytes big-endian), and leaves,
 * nodes and padding carry distinct tags, so no two different inputs hash the same bytes.
 * scripts/verify-solvency.mjs recomputes all of this on its own (no code shared), and
 * test/ledger/verify-script.test.ts checks the two agree.
 *
 * What the tree hides: a leaf is H("leaf" ‖ salt ‖ user id ‖ balance) with a salt made per person
 * and per report from a secret only the app holds, so a leaf hash says nothing about whose it is
 * or what it holds; leaves are ordered by their (salted) hash, so a leaf's place says nothing
 * either, and the same person is in a different place in every report. What a proof shows: its
 * own leaf (the person's balance and salt) and, for each level, the hash and sum of the sibling
 * subtree: sums of other people's balances, never whose.
 */
import { createHash, createHmac } from "node:crypto";

/** Named in the report so a verifier knows which rules to recompute. */
export const SCHEME = "bounty-bot-merkle-sum-v1";

/** The largest sum a node can carry (8 bytes); far above all the bitcoin there is. */
const MAX_U64 = (1n << 64n) - 1n;

export interface SumNode {
  hash: Buffer;
  sum: bigint;
}

export interface LeafInput {
  userId: number;
  /** What the app owes this person, in sats: never negative (see owedSats). */
  balance: bigint;
  /** 32 bytes: leafSalt(secret, userId, epoch). */
  salt: Buffer;
}

export interface ProofStep {
  /** The sibling subtree at this level. */
  hash: Buffer;
  sum: bigint;
  /** Which side the sibling is on. */
  side: "left" | "right";
}

export interface Proof {
  userId: number;
  balance: bigint;
  salt: Buffer;
  /** From the leaf up to (not including) the root. */
  path: ProofStep[];
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

/** 8 bytes big-endian; refuses what does not fit rather than wrapping around. */
export function u64(n: bigint): Buffer {
  if (typeof n !== "bigint" || n < 0n || n > MAX_U64) throw new RangeError(`not an unsigned 64-bit amount: ${String(n)}`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

const TAG_LEAF = Buffer.from("leaf");
const TAG_NODE = Buffer.from("node");
const TAG_PAD = Buffer.from("pad");

/** A person's leaf: H("leaf" ‖ salt ‖ user id ‖ balance), its sum the balance. */
export function leafNode(l: LeafInput): SumNode {
  if (l.salt.length !== 32) throw new RangeError("a leaf's salt is 32 bytes");
  if (!Number.isSafeInteger(l.userId) || l.userId <= 0) throw new RangeError(`not a user id: ${l.userId}`);
  return { hash: sha256(TAG_LEAF, l.salt, u64(BigInt(l.userId)), u64(l.balance)), sum: l.balance };
}

/** H("node" ‖ left.hash ‖ left.sum ‖ right.hash ‖ right.sum), its sum theirs. */
export function parentNode(left: SumNode, right: SumNode): SumNode {
  const sum = left.sum + right.sum;
  u64(sum); // a total past 8 bytes is refused, never wrapped
  return { hash: sha256(TAG_NODE, left.hash, u64(left.sum), right.hash, u64(right.sum)), sum };
}

/** The leaves that fill the tree up to a power of two: H("pad" ‖ index), sum 0; the same for everyone. */
export function padNode(index: number): SumNode {
  return { hash: sha256(TAG_PAD, u64(BigInt(index))), sum: 0n };
}

/**
 * The salt of a person's leaf in one report: HMAC-SHA256(secret, epoch ‖ ":" ‖ user id). Only the
 * app can make it; a proof reveals the one salt it is for, and that salt is good for one report.
 */
export function leafSalt(secret: Buffer, userId: number, epoch: string): Buffer {
  return createHmac("sha256", secret).update(`${SCHEME}:${epoch}:${userId}`).digest();
}

/**
 * What a person's leaf counts, in sats: their funds and their earnings, each at its posted balance
 * (credits less debits posted), so sats they have in escrow or in a payout not yet signed still
 * count (they are still theirs: pending transfers have only reserved them). An account that is
 * overdrawn (a deposit reversed by a reorganisation) counts 0: the app is owed that, not owing it.
 * Pending credits (an award not yet credited, an escrow not yet released to them) do not count.
 */
export function owedSats(a: { fundsPosted: bigint; earningsPosted: bigint }): bigint {
  return (a.fundsPosted > 0n ? a.fundsPosted : 0n) + (a.earningsPosted > 0n ? a.earningsPosted : 0n);
}

export interface SumTree {
  root: SumNode;
  /** People in the tree (padding not counted). */
  leafCount: number;
  /** Leaves including padding: a power of two. */
  width: number;
  proof(userId: number): Proof | null;
}

/** Builds the tree; each user id at most once. */
export function buildSumTree(leaves: readonly LeafInput[]): SumTree {
  const seen = new Set<number>();
  const made = leaves.map((l) => {
    if (seen.has(l.userId)) throw new Error(`user ${l.userId} has two leaves`);
    seen.add(l.userId);
    return { input: l, node: leafNode(l) };
  });
  // By salted hash: the order reveals neither balance nor id, and changes with every report.
  made.sort((a, b) => Buffer.compare(a.node.hash, b.node.hash));
  let width = 1;
  while (width < made.length) width *= 2;
  const levels: SumNode[][] = [made.map((m) => m.node)];
  for (let i = made.length; i < width; i++) levels[0]!.push(padNode(i));
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const up: SumNode[] = [];
    for (let i = 0; i < below.length; i += 2) up.push(parentNode(below[i]!, below[i + 1]!));
    levels.push(up);
  }
  const position = new Map(made.map((m, i) => [m.input.userId, i]));
  return {
    root: levels[levels.length - 1]![0]!,
    leafCount: made.length,
    width,
    proof(userId) {
      const at = position.get(userId);
      if (at === undefined) return null;
      const { input } = made[at]!;
      const path: ProofStep[] = [];
      let i = at;
      for (let level = 0; level < levels.length - 1; level++) {
        const sibling = levels[level]![i ^ 1]!;
        path.push({ hash: sibling.hash, sum: sibling.sum, side: i % 2 === 0 ? "right" : "left" });
        i >>= 1;
      }
      return { userId: input.userId, balance: input.balance, salt: input.salt, path };
    },
  };
}

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Recomputes the root from a proof; ok only when hash and sum both match. */
export function verifyProof(proof: Proof, root: SumNode): Verdict {
  let node: SumNode;
  try {
    node = leafNode(proof);
    for (const step of proof.path) {
      if (step.hash.length !== 32) return { ok: false, reason: "a sibling hash is not 32 bytes" };
      const sibling = { hash: step.hash, sum: step.sum };
      if (step.side === "left") node = parentNode(sibling, node);
      else if (step.side === "right") node = parentNode(node, sibling);
      else return { ok: false, reason: `a step's side is "${String(step.side)}"` };
    }
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (!node.hash.equals(root.hash)) return { ok: false, reason: "the recomputed root hash differs from the published one" };
  if (node.sum !== root.sum) return { ok: false, reason: `the recomputed total ${node.sum} differs from the published ${root.sum}` };
  return { ok: true };
}

/** A proof as the API gives it: hex and decimal strings. */
export interface ProofJson {
  user_id: string;
  balance: string;
  salt: string;
  path: Array<{ hash: string; sum: string; side: "left" | "right" }>;
}

export const proofToJson = (p: Proof): ProofJson => ({
  user_id: String(p.userId),
  balance: p.balance.toString(),
  salt: p.salt.toString("hex"),
  path: p.path.map((s) => ({ hash: s.hash.toString("hex"), sum: s.sum.toString(), side: s.side })),
});

const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const HEX32 = /^[0-9a-f]{64}$/;

/** Reads a proof back from JSON; throws on anything malformed. */
export function proofFromJson(j: ProofJson): Proof {
  const dec = (s: unknown, what: string) => {
    if (typeof s !== "string" || !DECIMAL.test(s)) throw new Error(`${what} is not a decimal string`);
    return BigInt(s);
  };
  const hex = (s: unknown, what: string) => {
    if (typeof s !== "string" || !HEX32.test(s)) throw new Error(`${what} is not 32 bytes of hex`);
    return Buffer.from(s, "hex");
  };
  if (!Array.isArray(j.path)) throw new Error("path is not a list");
  return {
    userId: Number(dec(j.user_id, "user_id")),
    balance: dec(j.balance, "balance"),
    salt: hex(j.salt, "salt"),
    path: j.path.map((s, i) => {
      if (s.side !== "left" && s.side !== "right") throw new Error(`path[${i}].side is not left or right`);
      return { hash: hex(s.hash, `path[${i}].hash`), sum: dec(s.sum, `path[${i}].sum`), side: s.side };
    }),
  };
}
