import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { AbiCoder, concat, getAddress, keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import fc from "fast-check";

import { FaultKind, ResourceClass } from "../../sdk/enums";
import { FAULT_LEAF_ENCODING, REWARD_LEAF_ENCODING } from "../../sdk/trees";
import {
  AggregateInputError,
  aggregateEpoch,
  missedDutyEvidence,
  verdictFileDataHash,
  type AggregateInput,
  type AggregateOutput,
  type DeviceState,
  type DeviceStatusInput,
  type ProofOutcome,
} from "../../oracles/aggregate";
import { ProofKind } from "../../oracles/proof";
import { rejected, verified, type VerifyResult } from "../../oracles/verify/result";

const addr = (n: number): string => getAddress("0x" + n.toString(16).padStart(2, "0").repeat(20));
const A = addr(0x11);
const B = addr(0x22);
const C = addr(0x33);
const D = addr(0x44);
const OP = addr(0xee);
const ev = (n: number): string => "0x" + n.toString(16).padStart(64, "0");

const dev = (device: string, resourceClass: ResourceClass, status: DeviceStatusInput = "Active"): DeviceState => ({
  device,
  operator: OP,
  resourceClass,
  status,
  capacity: 100n,
});
let nonceSeq = 0n;
const out = (device: string, kind: ProofKind, result: VerifyResult, nonce?: bigint, evidence?: string): ProofOutcome => {
  const n = nonce ?? ++nonceSeq;
  return { device, kind, nonce: n, result, evidence: evidence ?? ev(Number(n)) };
};
const SPLIT_COV_STO = [6_000, 4_000, 0, 0, 0, 0];
const SPLIT_COV = [10_000, 0, 0, 0, 0, 0];

const abi = AbiCoder.defaultAbiCoder();
/** `RewardsDistributor.leafHash` in ethers. */
const rewardLeaf = (device: string, amount: bigint): string =>
  keccak256(concat([keccak256(abi.encode(["address", "uint256"], [device, amount]))]));
/** `OracleHub.faultLeaf` in ethers. */
const faultLeaf = (device: string, kind: number, evidence: string): string =>
  keccak256(concat([keccak256(abi.encode(["address", "uint8", "bytes32"], [device, kind, evidence]))]));

interface Case {
  name: string;
  devices: DeviceState[];
  outcomes: ProofOutcome[];
  emission: bigint;
  split: number[];
  previous?: Record<string, bigint>;
  rewards: Record<string, bigint>;
  faults: { device: string; kind: FaultKind; evidence: string }[];
  allocated: bigint;
  devicesCounted: bigint;
  totalWorkUnits: bigint;
}

const cases: Case[] = [
  {
    name: "two classes split 60/40, proportional to work within each class",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Coverage), dev(C, ResourceClass.Storage)],
    outcomes: [
      out(A, ProofKind.CoverageBeacon, verified(3n)),
      out(B, ProofKind.CoverageWitness, verified(1n)),
      out(C, ProofKind.StorageChallenge, verified(10n, 0.5)),
    ],
    emission: 1_000_000n,
    split: SPLIT_COV_STO,
    // coverage pot 600 000: A 3/4, B 1/4; storage pot 400 000 all to C
    rewards: { [A]: 450_000n, [B]: 150_000n, [C]: 400_000n },
    faults: [],
    allocated: 1_000_000n,
    devicesCounted: 3n,
    totalWorkUnits: 14n,
  },
  {
    name: "quality scales the score (0.25 vs 0.75)",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Coverage)],
    outcomes: [out(A, ProofKind.CoverageBeacon, verified(1n, 0.25)), out(B, ProofKind.CoverageBeacon, verified(1n, 0.75))],
    emission: 1_000n,
    split: SPLIT_COV,
    rewards: { [A]: 250n, [B]: 750n },
    faults: [],
    allocated: 1_000n,
    devicesCounted: 2n,
    totalWorkUnits: 2n,
  },
  {
    name: "dust is not allocated (10 wei over 3 equal devices)",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Coverage), dev(C, ResourceClass.Coverage)],
    outcomes: [A, B, C].map((d) => out(d, ProofKind.CoverageBeacon, verified(5n))),
    emission: 10n,
    split: SPLIT_COV,
    rewards: { [A]: 3n, [B]: 3n, [C]: 3n },
    faults: [],
    allocated: 9n,
    devicesCounted: 3n,
    totalWorkUnits: 15n,
  },
  {
    name: "a class without score keeps its pot unallocated",
    devices: [dev(A, ResourceClass.Coverage)],
    outcomes: [out(A, ProofKind.CoverageBeacon, verified(2n))],
    emission: 1_000n,
    split: [5_000, 5_000, 0, 0, 0, 0],
    rewards: { [A]: 500n },
    faults: [],
    allocated: 500n,
    devicesCounted: 1n,
    totalWorkUnits: 2n,
  },
  {
    name: "a jailed device earns nothing and gets no MissedDuty; an exiting one neither",
    devices: [dev(A, ResourceClass.Coverage, "Jailed"), dev(B, ResourceClass.Coverage), dev(C, ResourceClass.Coverage, 3)],
    outcomes: [
      out(A, ProofKind.CoverageBeacon, verified(100n)),
      out(B, ProofKind.CoverageBeacon, verified(1n)),
      out(C, ProofKind.CoverageBeacon, verified(100n)),
    ],
    emission: 1_000n,
    split: SPLIT_COV,
    rewards: { [B]: 1_000n },
    faults: [],
    allocated: 1_000n,
    devicesCounted: 1n,
    totalWorkUnits: 1n,
  },
  {
    name: "an Active device without any verified proof gets a MissedDuty fault",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Storage), dev(C, ResourceClass.Storage)],
    outcomes: [
      out(A, ProofKind.CoverageBeacon, verified(1n)),
      out(C, ProofKind.StorageChallenge, rejected("bad path")), // invalid, no penalty, but not a verified proof either
    ],
    emission: 1_000n,
    split: SPLIT_COV_STO,
    rewards: { [A]: 600n },
    faults: [
      { device: B, kind: FaultKind.MissedDuty, evidence: missedDutyEvidence(7n, B) },
      { device: C, kind: FaultKind.MissedDuty, evidence: missedDutyEvidence(7n, C) },
    ],
    allocated: 600n,
    devicesCounted: 1n,
    totalWorkUnits: 1n,
  },
  {
    name: "LocationSpoofing: one fault per (device, kind) with the lowest nonce's evidence, no reward for that proof",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Coverage)],
    outcomes: [
      out(A, ProofKind.CoverageBeacon, verified(2n), 1n),
      out(A, ProofKind.CoverageWitness, rejected("too loud", FaultKind.LocationSpoofing), 5n, ev(0x55)),
      out(A, ProofKind.CoverageWitness, rejected("too loud", FaultKind.LocationSpoofing), 3n, ev(0x33)),
      out(A, ProofKind.CoverageWitness, rejected("forged", FaultKind.InvalidProof), 9n, ev(0x99)),
      out(B, ProofKind.CoverageBeacon, verified(2n), 1n),
    ],
    emission: 1_000n,
    split: SPLIT_COV,
    rewards: { [A]: 500n, [B]: 500n },
    faults: [
      { device: A, kind: FaultKind.InvalidProof, evidence: ev(0x99) },
      { device: A, kind: FaultKind.LocationSpoofing, evidence: ev(0x33) },
    ],
    allocated: 1_000n,
    devicesCounted: 2n,
    totalWorkUnits: 4n,
  },
  {
    name: "previous cumulative carried; unknown and removed devices earn nothing; a proof of a foreign kind is ignored",
    devices: [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Storage, "Removed")],
    outcomes: [
      out(A, ProofKind.CoverageBeacon, verified(1n)),
      out(A, ProofKind.EnergyReading, verified(1_000n)),
      out(B, ProofKind.StorageChallenge, rejected("x", FaultKind.InvalidProof)),
      out(D, ProofKind.CoverageBeacon, verified(1_000n)),
    ],
    emission: 100n,
    split: SPLIT_COV,
    previous: { [A]: 5n, [D.toLowerCase()]: 7n },
    rewards: { [A]: 100n, [D]: 0n },
    faults: [],
    allocated: 100n,
    devicesCounted: 1n,
    totalWorkUnits: 1n,
  },
];

const run = (c: Case, epoch = 7n): AggregateOutput =>
  aggregateEpoch({
    epoch,
    devices: c.devices,
    outcomes: c.outcomes,
    emission: c.emission,
    classSplitBps: c.split,
    previous: c.previous ?? {},
  });

/** Every leaf and proof of an output verifies against its roots, and leaves equal what the contracts compute. */
function expectTreesSound(o: AggregateOutput): void {
  for (const l of o.cumulative) {
    expect(l.leaf).to.equal(rewardLeaf(l.device, l.cumulativeAmount));
    expect(StandardMerkleTree.verify(o.rewardsRoot, REWARD_LEAF_ENCODING, [l.device, l.cumulativeAmount], l.proof)).to.equal(true);
  }
  for (const f of o.faults) {
    expect(f.leaf).to.equal(faultLeaf(f.device, f.kind, f.evidence));
    expect(StandardMerkleTree.verify(o.faultsRoot, FAULT_LEAF_ENCODING, [f.device, f.kind, f.evidence], f.proof)).to.equal(true);
  }
  if (o.cumulative.length === 0) expect(o.rewardsRoot).to.equal(ZeroHash);
  if (o.faults.length === 0) expect(o.faultsRoot).to.equal(ZeroHash);
  expect(verdictFileDataHash(o.file)).to.equal(o.verdict.dataHash);
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0 || 1;
  for (let i = a.length - 1; i > 0; i--) {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe("oracles/aggregate", () => {
  describe("scenarios", () => {
    for (const c of cases) {
      it(c.name, () => {
        const o = run(c);
        const rewards = Object.fromEntries(o.rewards.map((r) => [r.device, r.reward]));
        expect(rewards).to.deep.equal(c.rewards);
        expect(o.faults.map(({ device, kind, evidence }) => ({ device, kind, evidence }))).to.deep.equal(c.faults);
        expect(o.allocated).to.equal(c.allocated);
        expect(o.devicesCounted).to.equal(c.devicesCounted);
        expect(o.totalWorkUnits).to.equal(c.totalWorkUnits);
        const prev = Object.fromEntries(Object.entries(c.previous ?? {}).map(([k, v]) => [getAddress(k), v]));
        for (const r of o.rewards) expect(r.cumulative).to.equal((prev[r.device] ?? 0n) + r.reward);
        expect(o.verdict).to.include({ epoch: 7n, rewardsRoot: o.rewardsRoot, faultsRoot: o.faultsRoot });
        expectTreesSound(o);
      });
    }
  });

  it("MissedDuty evidence is keccak256(utf8('missed:' + epoch + ':' + device))", () => {
    expect(missedDutyEvidence(7n, B)).to.equal(keccak256(toUtf8Bytes(`missed:7:${B}`)));
    expect(missedDutyEvidence(7n, B.toLowerCase())).to.equal(missedDutyEvidence(7n, B));
    expect(missedDutyEvidence(8n, B)).to.not.equal(missedDutyEvidence(7n, B));
  });

  it("is order-independent: shuffled inputs give byte-identical files and the same roots", () => {
    for (const c of cases) {
      const base = run(c);
      for (let seed = 1; seed <= 5; seed++) {
        const o = aggregateEpoch({
          epoch: 7n,
          devices: shuffle(c.devices, seed),
          outcomes: shuffle(c.outcomes, seed * 31),
          emission: c.emission,
          classSplitBps: c.split,
          previous: new Map(shuffle(Object.entries(c.previous ?? {}), seed * 7)),
        });
        expect(o.file).to.equal(base.file);
        expect(o.verdict).to.deep.equal(base.verdict);
      }
    }
  });

  it("counts a proof seen twice (same device and nonce) once, and rejects conflicting copies", () => {
    const c = cases[0];
    const doubled = aggregateEpoch({ ...inputOf(c), outcomes: [...c.outcomes, ...c.outcomes] });
    expect(doubled.file).to.equal(run(c).file);
    const forged = { ...c.outcomes[0], result: verified(1_000n) };
    expect(() => aggregateEpoch({ ...inputOf(c), outcomes: [...c.outcomes, forged] })).to.throw(AggregateInputError, /conflicting/);
  });

  it("rejects a bad split, duplicate devices and bad evidence", () => {
    const c = cases[0];
    expect(() => aggregateEpoch({ ...inputOf(c), classSplitBps: [6_000, 5_000, 0, 0, 0, 0] })).to.throw(AggregateInputError, /sums/);
    expect(() => aggregateEpoch({ ...inputOf(c), classSplitBps: [10_000] })).to.throw(AggregateInputError, /6 entries/);
    expect(() => aggregateEpoch({ ...inputOf(c), devices: [...c.devices, dev(A, ResourceClass.Storage)] })).to.throw(AggregateInputError, /duplicate/);
    const badEvidence = { ...c.outcomes[0], evidence: "0x1234" };
    expect(() => aggregateEpoch({ ...inputOf(c), outcomes: [badEvidence] })).to.throw(AggregateInputError, /bytes32/);
  });

  it("cumulative amounts increase across two epochs and unrewarded devices keep their leaf", () => {
    const devices = [dev(A, ResourceClass.Coverage), dev(B, ResourceClass.Coverage)];
    const e1 = aggregateEpoch({
      epoch: 1n,
      devices,
      outcomes: [out(A, ProofKind.CoverageBeacon, verified(1n)), out(B, ProofKind.CoverageBeacon, verified(3n))],
      emission: 1_000n,
      classSplitBps: SPLIT_COV,
      previous: {},
    });
    expect(e1.cumulative.map((l) => [l.device, l.cumulativeAmount])).to.deep.equal([[A, 250n], [B, 750n]]);
    const previous = new Map(e1.cumulative.map((l) => [l.device, l.cumulativeAmount]));
    const e2 = aggregateEpoch({
      epoch: 2n,
      devices,
      outcomes: [out(A, ProofKind.CoverageBeacon, verified(1n))], // B sends nothing: MissedDuty, keeps 750
      emission: 500n,
      classSplitBps: SPLIT_COV,
      previous,
    });
    expect(e2.cumulative.map((l) => [l.device, l.cumulativeAmount])).to.deep.equal([[A, 750n], [B, 750n]]);
    expect(e2.faults.map((f) => [f.device, f.kind])).to.deep.equal([[B, FaultKind.MissedDuty]]);
    expect(e2.rewardsRoot).to.not.equal(e1.rewardsRoot);
    expectTreesSound(e2);
  });

  it("writes the file as canonical JSON with decimal-string bigints and a dataHash over the rest", () => {
    const o = run(cases[0]);
    const parsed = JSON.parse(o.file) as { dataHash: string; epoch: string; rewards: { cumulative: string; proof: string[] }[] };
    expect(o.file).to.not.match(/\s/);
    expect(parsed.epoch).to.equal("7");
    expect(parsed.dataHash).to.equal(o.verdict.dataHash);
    expect(parsed.rewards.map((r) => r.cumulative)).to.deep.equal(["450000", "150000", "400000"]);
  });

  it("property: rewards never exceed the emission or their class pot, and shuffling changes nothing", () => {
    const classArb = fc.constantFrom(...Object.values(ResourceClass));
    const kindFor = (c: ResourceClass): ProofKind =>
      c === ResourceClass.Coverage ? ProofKind.CoverageBeacon
      : c === ResourceClass.Storage ? ProofKind.StorageChallenge
      : c === ResourceClass.Mapping ? ProofKind.MappingCapture
      : c === ResourceClass.Energy ? ProofKind.EnergyReading
      : ProofKind.ComputeChallenge;
    const splitArb = fc
      .array(fc.integer({ min: 0, max: 10_000 }), { minLength: 6, maxLength: 6 })
      .map((xs) => {
        const sum = xs.reduce((a, b) => a + b, 0);
        return sum <= 10_000 ? xs : xs.map((x) => Math.floor((x * 10_000) / sum));
      });
    const deviceArb = fc.record({
      cls: classArb,
      status: fc.constantFrom<DeviceStatusInput>("Active", "Active", "Jailed", "Exiting", "Removed"),
      prev: fc.bigInt({ min: 0n, max: 10n ** 24n }),
    });
    const proofArb = fc.record({
      who: fc.nat(9),
      nonce: fc.bigInt({ min: 0n, max: 20n }),
      ok: fc.boolean(),
      work: fc.bigInt({ min: 0n, max: 10n ** 20n }),
      quality: fc.double({ min: 0, max: 1, noNaN: true }),
      fault: fc.constantFrom<FaultKind | null>(null, FaultKind.InvalidProof, FaultKind.LocationSpoofing),
    });
    fc.assert(
      fc.property(
        fc.array(deviceArb, { minLength: 1, maxLength: 10 }),
        fc.array(proofArb, { maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 10n ** 27n }),
        splitArb,
        fc.nat(),
        (devs, proofs, emission, split, seed) => {
          const devices = devs.map((d, i) => dev(addr(0x10 + i), d.cls, d.status));
          const seen = new Set<string>();
          const outcomes: ProofOutcome[] = [];
          for (const p of proofs) {
            const i = p.who % devs.length;
            const key = `${i}|${p.nonce}`;
            if (seen.has(key)) continue; // one outcome per (device, nonce)
            seen.add(key);
            outcomes.push({
              device: devices[i].device,
              kind: kindFor(devs[i].cls),
              nonce: p.nonce,
              result: p.ok ? verified(p.work, p.quality) : rejected("r", p.fault),
              evidence: ev(i * 100 + Number(p.nonce)),
            });
          }
          const previous = Object.fromEntries(devs.map((d, i) => [devices[i].device, d.prev]));
          const input: AggregateInput = { epoch: 3n, devices, outcomes, emission, classSplitBps: split, previous };
          const o = aggregateEpoch(input);
          const sum = o.rewards.reduce((a, r) => a + r.reward, 0n);
          expect(sum).to.equal(o.allocated);
          expect(sum <= emission).to.equal(true);
          for (const c of o.classes) expect(c.allocated <= c.pot).to.equal(true);
          for (const r of o.rewards) expect(r.cumulative).to.equal((previous[r.device] ?? 0n) + r.reward);
          const s = aggregateEpoch({
            ...input,
            devices: shuffle(devices, seed),
            outcomes: shuffle(outcomes, seed + 1),
          });
          expect(s.file).to.equal(o.file);
          expectTreesSound(o);
        },
      ),
      { numRuns: 150 },
    );
  });
});

function inputOf(c: Case): AggregateInput {
  return { epoch: 7n, devices: c.devices, outcomes: c.outcomes, emission: c.emission, classSplitBps: c.split, previous: c.previous ?? {} };
}
