import { keccak_256 } from "@noble/hashes/sha3";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { AbiCoder, getAddress, hexlify, keccak256 } from "ethers";
import fc from "fast-check";

import { FaultKind } from "../../sdk/enums";
import { Keccak256, keccak256Bytes, keccak256Into, keccak256PairInto, keccak256Short } from "../../sdk/keccak";
import {
  buildFaultsTree,
  buildLeasesTree,
  buildRewardsTree,
  FAULT_LEAF_ENCODING,
  LEASE_LEAF_ENCODING,
  processProof,
  REWARD_LEAF_ENCODING,
  type FaultLeaf,
  type LeaseLeaf,
  type RewardLeaf,
} from "../../sdk/trees";
import { seedFromEnv } from "../helpers/property";

const hex = (bytes: Uint8Array): string => hexlify(bytes);
const addressArb = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => hex(b));
/** Any spelling OZ accepts: lowercase or checksummed. */
const deviceArb = fc.tuple(addressArb, fc.boolean()).map(([a, checksum]) => (checksum ? getAddress(a) : a));
/** Few distinct amounts so that equal leaves and equal amounts across devices occur. */
const amountArb = fc.oneof(
  fc.constantFrom(0n, 1n, 10n ** 18n, (1n << 256n) - 1n),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
);
const rewardLeafArb: fc.Arbitrary<RewardLeaf> = fc.record({ device: deviceArb, cumulativeAmount: amountArb });
/** 1..200 leaves, some of them copies of others (same device and amount, or same device). */
const rewardLeavesArb = fc
  .tuple(fc.array(rewardLeafArb, { minLength: 1, maxLength: 200 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 20 }))
  .map(([leaves, copies]) => {
    const out = [...leaves];
    for (const [from, to, sameAmount] of copies) {
      if (out.length >= 200) break;
      const src = out[from % out.length];
      out.splice(to % (out.length + 1), 0, sameAmount ? { ...src } : { device: src.device, cumulativeAmount: src.cumulativeAmount === 0n ? 1n : src.cumulativeAmount - 1n });
    }
    return out;
  });
const faultLeafArb: fc.Arbitrary<FaultLeaf> = fc.record({
  device: deviceArb,
  kind: fc.constantFrom(...Object.values(FaultKind)),
  evidence: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hex(b)),
});
/** Lease ids and cumulative values at their type bounds, and small ones (so equal leaves occur). */
const leaseLeafArb: fc.Arbitrary<LeaseLeaf> = fc.record({
  leaseId: fc.oneof(fc.bigInt({ min: 1n, max: 20n }), fc.constantFrom(0n, (1n << 256n) - 1n), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n })),
  delivered: fc.oneof(fc.bigInt({ min: 0n, max: 100_000n }), fc.constantFrom(0n, (1n << 64n) - 1n)),
  breaches: fc.oneof(fc.bigInt({ min: 0n, max: 30n }), fc.constantFrom((1n << 32n) - 1n)),
});

describe("sdk/trees", function () {
  describe("keccak256 (short messages)", function () {
    it("equals @noble/hashes keccak_256 for every length 0..135", function () {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 135 }), (m) => {
          expect(hex(keccak256Short(m))).to.equal(hex(keccak_256(m)));
        }),
        { numRuns: 500, ...seedFromEnv("TREES_SEED") },
      );
      for (let len = 0; len < 136; len++) {
        const m = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
        expect(hex(keccak256Short(m)), `length ${len}`).to.equal(hex(keccak_256(m)));
      }
    });

    it("hashes in place and at offsets; pairs equal the concatenation", function () {
      const buf = Uint8Array.from({ length: 200 }, (_, i) => (i * 101) & 0xff);
      const expected = keccak_256(buf.subarray(7, 7 + 64));
      keccak256Into(buf, 7, 64, buf, 7);
      expect(hex(buf.subarray(7, 39))).to.equal(hex(expected));
      const pair = keccak_256(Uint8Array.from([...buf.subarray(100, 132), ...buf.subarray(20, 52)]));
      const out = new Uint8Array(32);
      keccak256PairInto(buf, 100, 20, out, 0);
      expect(hex(out)).to.equal(hex(pair));
    });

    it("hashes messages of any length (several blocks) as keccak_256", function () {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1000 }), (m) => {
          expect(hex(keccak256Bytes(m))).to.equal(hex(keccak_256(m)));
        }),
        { numRuns: 200, ...seedFromEnv("TREES_SEED") },
      );
      for (const len of [135, 136, 137, 271, 272, 273]) {
        const m = Uint8Array.from({ length: len }, (_, i) => (i * 13) & 0xff);
        expect(hex(keccak256Bytes(m)), `length ${len}`).to.equal(hex(keccak_256(m)));
      }
    });

    it("hashes a message given in pieces as the whole message", function () {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (pieces) => {
          const stream = new Keccak256();
          for (const p of pieces) stream.update(p);
          const whole = Uint8Array.from(pieces.flatMap((p) => [...p]));
          expect(hex(stream.digest())).to.equal(hex(keccak_256(whole)));
        }),
        { numRuns: 200, ...seedFromEnv("TREES_SEED") },
      );
    });

    it("rejects messages that do not fit one block", function () {
      expect(() => keccak256Short(new Uint8Array(136))).to.throw(RangeError);
    });
  });

  describe("rewards tree", function () {
    it("has StandardMerkleTree's root, leaf hashes and proofs for random leaf sets (1..200 leaves, with copies)", function () {
      fc.assert(
        fc.property(rewardLeavesArb, (leaves) => {
          const values = leaves.map((l) => [l.device, l.cumulativeAmount] as [string, bigint]);
          const tree = buildRewardsTree(leaves);
          const oz = StandardMerkleTree.of(values, REWARD_LEAF_ENCODING);
          expect(tree.root).to.equal(oz.root);
          expect(tree.length).to.equal(oz.length);
          for (let i = 0; i < leaves.length; i++) {
            const proof = tree.getProof(i);
            expect(proof).to.deep.equal(oz.getProof(i));
            expect(tree.leafHashAt(i)).to.equal(oz.leafHash(values[i]));
            expect(tree.leafHash(values[i])).to.equal(oz.leafHash(values[i]));
            expect(StandardMerkleTree.verify(tree.root, REWARD_LEAF_ENCODING, values[i], proof)).to.equal(true);
            expect(tree.verify(i, proof)).to.equal(true);
          }
          // Lookup by value: OZ and this tree pick the same index (the last of equal values).
          expect(tree.getProof(values[0])).to.deep.equal(oz.getProof(values[0]));
          expect(tree.leafLookup(values[0])).to.equal(oz.leafLookup(values[0]));
        }),
        { numRuns: 150, ...seedFromEnv("TREES_SEED") },
      );
    });

    it("dumps OZ's standard-v1 format: StandardMerkleTree.load accepts it and gives the same tree", function () {
      const leaves = Array.from({ length: 13 }, (_, i) => ({ device: getAddress("0x" + (i + 1).toString(16).padStart(40, "0")), cumulativeAmount: BigInt(i % 4) }));
      const tree = buildRewardsTree(leaves);
      const oz = StandardMerkleTree.of(leaves.map((l) => [l.device, l.cumulativeAmount] as [string, bigint]), REWARD_LEAF_ENCODING);
      const loaded = StandardMerkleTree.load(tree.dump()); // load() validates every node
      expect(loaded.dump()).to.deep.equal(oz.dump());
      expect([...tree.entries()]).to.deep.equal([...oz.entries()]);
      expect(tree.at(-1)).to.deep.equal(oz.at(-1));
      expect(tree.at(13)).to.equal(undefined);
    });

    it("rejects what the contracts cannot encode, and unknown indices", function () {
      const device = getAddress("0x" + "ab".repeat(20));
      expect(() => buildRewardsTree([])).to.throw(RangeError);
      expect(() => buildRewardsTree([{ device: "0x1234", cumulativeAmount: 1n }])).to.throw(RangeError);
      expect(() => buildRewardsTree([{ device, cumulativeAmount: -1n }])).to.throw(RangeError);
      expect(() => buildRewardsTree([{ device, cumulativeAmount: 1n << 256n }])).to.throw(RangeError);
      const tree = buildRewardsTree([{ device, cumulativeAmount: 5n }]);
      expect(tree.getProof(0)).to.deep.equal([]);
      expect(() => tree.getProof(1)).to.throw(RangeError);
      expect(() => tree.getProof([device, 6n])).to.throw(RangeError);
      expect(processProof(tree.leafHashAt(0), [])).to.equal(tree.root);
    });
  });

  describe("faults tree", function () {
    it("has StandardMerkleTree's root and proofs for random leaf sets", function () {
      fc.assert(
        fc.property(fc.array(faultLeafArb, { minLength: 1, maxLength: 200 }), (leaves) => {
          const values = leaves.map((l) => [l.device, l.kind, l.evidence] as [string, number, string]);
          const tree = buildFaultsTree(leaves);
          const oz = StandardMerkleTree.of(values, FAULT_LEAF_ENCODING);
          expect(tree.root).to.equal(oz.root);
          for (let i = 0; i < leaves.length; i++) {
            const proof = tree.getProof(i);
            expect(proof).to.deep.equal(oz.getProof(i));
            expect(StandardMerkleTree.verify(tree.root, FAULT_LEAF_ENCODING, values[i], proof)).to.equal(true);
          }
        }),
        { numRuns: 60, ...seedFromEnv("TREES_SEED") },
      );
    });
  });

  describe("leases tree", function () {
    it("has StandardMerkleTree's root, leaf hashes and proofs for random leaf sets", function () {
      fc.assert(
        fc.property(fc.array(leaseLeafArb, { minLength: 1, maxLength: 200 }), (leaves) => {
          const values = leaves.map((l) => [l.leaseId, l.delivered, l.breaches] as [bigint, bigint, bigint]);
          const tree = buildLeasesTree(leaves);
          const oz = StandardMerkleTree.of(values, LEASE_LEAF_ENCODING);
          expect(tree.root).to.equal(oz.root);
          expect(tree.length).to.equal(oz.length);
          for (let i = 0; i < leaves.length; i++) {
            const proof = tree.getProof(i);
            expect(proof).to.deep.equal(oz.getProof(i));
            expect(tree.leafHashAt(i)).to.equal(oz.leafHash(values[i]));
            expect(StandardMerkleTree.verify(tree.root, LEASE_LEAF_ENCODING, values[i], proof)).to.equal(true);
            expect(processProof(tree.leafHashAt(i), proof)).to.equal(tree.root);
          }
          expect(tree.leafLookup(values[0])).to.equal(oz.leafLookup(values[0]));
        }),
        { numRuns: 100, ...seedFromEnv("TREES_SEED") },
      );
    });

    it("leaf = keccak256(keccak256(abi.encode(uint256 leaseId, uint64 delivered, uint32 breaches)))", function () {
      const tree = buildLeasesTree([{ leaseId: 7n, delivered: 25_000n, breaches: 2n }]);
      const expected = keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint64", "uint32"], [7n, 25_000n, 2n])));
      expect(tree.root).to.equal(expected);
      expect(tree.leafHashAt(0)).to.equal(expected);
      const loaded = StandardMerkleTree.load(tree.dump());
      expect(loaded.root).to.equal(tree.root);
    });

    it("rejects values outside the leaf types", function () {
      expect(() => buildLeasesTree([])).to.throw(RangeError);
      expect(() => buildLeasesTree([{ leaseId: -1n, delivered: 0n, breaches: 0n }])).to.throw(RangeError);
      expect(() => buildLeasesTree([{ leaseId: 1n << 256n, delivered: 0n, breaches: 0n }])).to.throw(RangeError);
      expect(() => buildLeasesTree([{ leaseId: 1n, delivered: 1n << 64n, breaches: 0n }])).to.throw(RangeError, /uint64/);
      expect(() => buildLeasesTree([{ leaseId: 1n, delivered: -1n, breaches: 0n }])).to.throw(RangeError, /uint64/);
      expect(() => buildLeasesTree([{ leaseId: 1n, delivered: 0n, breaches: 1n << 32n }])).to.throw(RangeError, /uint32/);
    });
  });
});
