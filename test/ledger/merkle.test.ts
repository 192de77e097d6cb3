import { createHash } from "node:crypto";
import fc from "fast-check";
import {
  buildSumTree,
  leafNode,
  leafSalt,
  owedSats,
  padNode,
  parentNode,
  proofFromJson,
  proofToJson,
  u64,
  verifyProof,
  type LeafInput,
  type Proof,
} from "../../src/ledger/merkle.js";

const SECRET = Buffer.alloc(32, 7);
const MAX_SATS = 21_000_000n * 100_000_000n;

/** Distinct user ids with balances up to all the bitcoin there is. */
const people = fc.uniqueArray(
  fc.record({ userId: fc.integer({ min: 1, max: 2 ** 40 }), balance: fc.bigInt({ min: 0n, max: MAX_SATS }) }),
  { selector: (p) => p.userId, minLength: 1, maxLength: 40 },
);
const leavesOf = (ps: Array<{ userId: number; balance: bigint }>, epoch = "1"): LeafInput[] =>
  ps.map((p) => ({ ...p, salt: leafSalt(SECRET, p.userId, epoch) }));

const flip = (b: Buffer, byte = 0): Buffer => {
  const c = Buffer.from(b);
  c[byte % c.length]! ^= 1;
  return c;
};

describe("the Merkle sum tree", () => {
  test("every leaf's proof verifies against the root, and the root's sum is the total", () => {
    fc.assert(
      fc.property(people, (ps) => {
        const tree = buildSumTree(leavesOf(ps));
        expect(tree.root.sum).toBe(ps.reduce((s, p) => s + p.balance, 0n));
        expect(tree.leafCount).toBe(ps.length);
        expect(tree.width).toBeGreaterThanOrEqual(ps.length);
        expect(tree.width & (tree.width - 1)).toBe(0);
        for (const p of ps) {
          const proof = tree.proof(p.userId)!;
          expect(proof.balance).toBe(p.balance);
          expect(proof.path).toHaveLength(Math.log2(tree.width));
          expect(verifyProof(proof, tree.root)).toEqual({ ok: true });
          // Through JSON (as the API gives it) and back, it still verifies.
          expect(verifyProof(proofFromJson(JSON.parse(JSON.stringify(proofToJson(proof)))), tree.root)).toEqual({ ok: true });
        }
      }),
    );
  });

  test("changing the balance, the salt, the user id, any sibling's hash, sum or side breaks the proof", () => {
    fc.assert(
      fc.property(people, fc.nat(), fc.bigInt({ min: 1n, max: MAX_SATS }), (ps, pick, delta) => {
        const tree = buildSumTree(leavesOf(ps));
        const p = ps[pick % ps.length]!;
        const proof = tree.proof(p.userId)!;
        const broken: Proof[] = [
          { ...proof, balance: proof.balance + delta },
          { ...proof, salt: flip(proof.salt, pick) },
          { ...proof, userId: proof.userId + 1 },
        ];
        if (proof.balance >= delta) broken.push({ ...proof, balance: proof.balance - delta });
        proof.path.forEach((step, i) => {
          const at = (s: Partial<Proof["path"][number]>) => ({ ...proof, path: proof.path.map((x, j) => (j === i ? { ...x, ...s } : x)) });
          broken.push(at({ hash: flip(step.hash, pick) }));
          broken.push(at({ sum: step.sum + delta }));
          if (step.sum >= delta) broken.push(at({ sum: step.sum - delta }));
          broken.push(at({ side: step.side === "left" ? "right" : "left" }));
        });
        // Moving sats from one's own leaf into a sibling keeps the total but not the hash.
        if (proof.path.length > 0 && proof.balance >= delta) {
          broken.push({ ...proof, balance: proof.balance - delta, path: [{ ...proof.path[0]!, sum: proof.path[0]!.sum + delta }, ...proof.path.slice(1)] });
        }
        // Sats moved between two siblings keep the total: only hashing each child's sum catches it (Maxwell's flaw).
        const s1 = proof.path[1];
        if (s1 && s1.sum >= delta) {
          broken.push({ ...proof, path: [{ ...proof.path[0]!, sum: proof.path[0]!.sum + delta }, { ...s1, sum: s1.sum - delta }, ...proof.path.slice(2)] });
        }
        for (const b of broken) expect(verifyProof(b, tree.root).ok).toBe(false);
        // And a root with another sum refuses the honest proof.
        expect(verifyProof(proof, { ...tree.root, sum: tree.root.sum + delta }).ok).toBe(false);
        expect(verifyProof(proof, { ...tree.root, hash: flip(tree.root.hash) }).ok).toBe(false);
      }),
    );
  });

  test("changing any one person's balance changes the root", () => {
    fc.assert(
      fc.property(people, fc.nat(), fc.bigInt({ min: 1n, max: MAX_SATS }), (ps, pick, delta) => {
        const before = buildSumTree(leavesOf(ps)).root;
        const changed = ps.map((p, i) => (i === pick % ps.length ? { ...p, balance: p.balance + delta } : p));
        const after = buildSumTree(leavesOf(changed)).root;
        expect(after.hash.equals(before.hash)).toBe(false);
        expect(after.sum).toBe(before.sum + delta);
      }),
    );
  });

  test("the same balances in another report have other salts, other leaves and other positions", () => {
    const ps = Array.from({ length: 16 }, (_, i) => ({ userId: 100 + i, balance: 1000n }));
    const a = buildSumTree(leavesOf(ps, "1700000000000"));
    const b = buildSumTree(leavesOf(ps, "1700000060000"));
    expect(a.root.sum).toBe(b.root.sum);
    expect(a.root.hash.equals(b.root.hash)).toBe(false);
    const pa = a.proof(100)!;
    const pb = b.proof(100)!;
    expect(pa.salt.equals(pb.salt)).toBe(false);
    // The order is by salted hash, not by id or balance: over 16 people some move.
    const position = (p: Proof) => p.path.reduce((n, s, i) => n + (s.side === "left" ? 1 << i : 0), 0);
    const moved = ps.filter((p) => position(a.proof(p.userId)!) !== position(b.proof(p.userId)!));
    expect(moved.length).toBeGreaterThan(0);
    // And leaves are not sorted by balance.
    const varied = ps.map((p, i) => ({ ...p, balance: BigInt(i) * 1000n }));
    const t = buildSumTree(leavesOf(varied));
    const order = varied.map((p) => position(t.proof(p.userId)!));
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
  });

  test("salts are HMAC-SHA256 of the secret, the report and the person: another secret gives other salts", () => {
    expect(leafSalt(SECRET, 5, "e").equals(leafSalt(SECRET, 5, "e"))).toBe(true);
    expect(leafSalt(SECRET, 5, "e").equals(leafSalt(SECRET, 6, "e"))).toBe(false);
    expect(leafSalt(SECRET, 5, "e").equals(leafSalt(Buffer.alloc(32, 8), 5, "e"))).toBe(false);
    expect(leafSalt(SECRET, 5, "e")).toHaveLength(32);
  });

  test("hashing follows the documented layout exactly (what scripts/verify-solvency.mjs recomputes)", () => {
    const sha = (...b: Buffer[]) => createHash("sha256").update(Buffer.concat(b)).digest();
    const salt = Buffer.alloc(32, 1);
    const leaf = leafNode({ userId: 3001, balance: 5000n, salt });
    expect(leaf.hash).toEqual(sha(Buffer.from("leaf"), salt, u64(3001n), u64(5000n)));
    const pad = padNode(1);
    expect(pad).toEqual({ hash: sha(Buffer.from("pad"), u64(1n)), sum: 0n });
    expect(parentNode(leaf, pad)).toEqual({ hash: sha(Buffer.from("node"), leaf.hash, u64(5000n), pad.hash, u64(0n)), sum: 5000n });
    // One person: the tree is their leaf and nothing else.
    const one = buildSumTree([{ userId: 3001, balance: 5000n, salt }]);
    expect(one.root).toEqual(leaf);
    expect(one.proof(3001)!.path).toEqual([]);
    // No one: a single padding leaf, summing to 0.
    expect(buildSumTree([]).root).toEqual(padNode(0));
    expect(buildSumTree([]).proof(1)).toBeNull();
  });

  test("refuses negative balances, amounts past 8 bytes and a person twice", () => {
    const salt = Buffer.alloc(32);
    expect(() => buildSumTree([{ userId: 1, balance: -1n, salt }])).toThrow(/unsigned 64-bit/);
    expect(() => u64(1n << 64n)).toThrow(/unsigned 64-bit/);
    expect(() => parentNode({ hash: salt, sum: (1n << 64n) - 1n }, { hash: salt, sum: 1n })).toThrow(/unsigned 64-bit/);
    expect(() => buildSumTree([{ userId: 1, balance: 1n, salt }, { userId: 1, balance: 2n, salt }])).toThrow(/two leaves/);
    expect(() => proofFromJson({ user_id: "1", balance: "-5", salt: salt.toString("hex"), path: [] })).toThrow(/decimal/);
  });
});

describe("what a person's leaf counts", () => {
  test.each([
    [1000n, 500n, 1500n],
    [-200n, 500n, 500n],
    [1000n, -1n, 1000n],
    [-5n, -5n, 0n],
    [0n, 0n, 0n],
  ])("funds %p and earnings %p count %p (an overdrawn account counts 0)", (fundsPosted, earningsPosted, want) => {
    expect(owedSats({ fundsPosted, earningsPosted })).toBe(want);
  });
});
