import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { expect } from "chai";
import { AbiCoder, concat, getAddress, keccak256, toBeHex, toUtf8Bytes, zeroPadValue, ZeroHash } from "ethers";
import fc from "fast-check";

import { FaultKind, ResourceClass } from "../../sdk/enums";
import { FAULT_LEAF_ENCODING, LEASE_LEAF_ENCODING, processProof, REWARD_LEAF_ENCODING } from "../../sdk/trees";
import {
  AggregateInputError,
  aggregateEpoch,
  leasesOfVerdictFile,
  missedDutyEvidence,
  verdictFileDataHash,
  type AggregateInput,
  type AggregateOutput,
  type DeviceState,
  type DeviceStatusInput,
  type LeaseCumulative,
  type LeaseState,
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
/** The lease fields of an epoch without leases. */
const NO_LEASES = { leases: [], previousLeases: new Map(), slaBreachEpochs: 3 } as const satisfies Pick<
  AggregateInput,
  "leases" | "previousLeases" | "slaBreachEpochs"
>;

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
    ...NO_LEASES,
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
          ...NO_LEASES,
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
      ...NO_LEASES,
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
      ...NO_LEASES,
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
          const input: AggregateInput = { epoch: 3n, devices, outcomes, emission, classSplitBps: split, previous, ...NO_LEASES };
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
  return { epoch: 7n, devices: c.devices, outcomes: c.outcomes, emission: c.emission, classSplitBps: c.split, previous: c.previous ?? {}, ...NO_LEASES };
}

// ---------------------------------------------------------------------------------------------------------------
// Leases

/** `Marketplace.leaseLeaf` in ethers. */
const leaseLeaf = (leaseId: bigint, delivered: bigint, breaches: bigint): string =>
  keccak256(concat([keccak256(abi.encode(["uint256", "uint64", "uint32"], [leaseId, delivered, breaches]))]));

const S1 = addr(0x51);
const S2 = addr(0x52);
const G1 = addr(0x61);
const capDev = (device: string, resourceClass: ResourceClass, capacity: bigint, status: DeviceStatusInput = "Active"): DeviceState => ({
  ...dev(device, resourceClass, status),
  capacity,
});
const lease = (leaseId: bigint, devices: string[], startEpoch: bigint, endEpoch: bigint, minDeliveryBps = 9_000): LeaseState => ({
  leaseId,
  devices,
  startEpoch,
  endEpoch,
  minDeliveryBps,
});
const hb = (device: string, ok = true): ProofOutcome => out(device, ProofKind.Heartbeat, ok ? verified(0n) : rejected("late"));
/** A heartbeat and `ok` verified then `bad` rejected outcomes of `kind`, each of quality `quality`. */
const duty = (device: string, kind: ProofKind, ok: number, bad = 0, quality = 1): ProofOutcome[] => [
  hb(device),
  ...Array.from({ length: ok }, () => out(device, kind, verified(1n, quality))),
  ...Array.from({ length: bad }, () => out(device, kind, rejected("bad"))),
];
const SPLIT_ALL = [2_000, 2_000, 1_500, 1_500, 1_500, 1_500];

function leaseRun(
  epoch: bigint,
  devices: DeviceState[],
  outcomes: ProofOutcome[],
  leases: LeaseState[],
  previousLeases: ReadonlyMap<bigint, LeaseCumulative> = new Map(),
  slaBreachEpochs = 3,
): AggregateOutput {
  return aggregateEpoch({ epoch, devices, outcomes, emission: 1_000_000n, classSplitBps: SPLIT_ALL, previous: {}, leases, previousLeases, slaBreachEpochs });
}

const cumulativeOf = (o: AggregateOutput): Map<bigint, LeaseCumulative> =>
  new Map(o.leases.map((l) => [l.leaseId, { delivered: l.delivered, breaches: l.breaches }]));
const slaFaults = (o: AggregateOutput): { device: string; evidence: string }[] =>
  o.faults.filter((f) => f.kind === FaultKind.ServiceLevelBreach).map(({ device, evidence }) => ({ device, evidence }));

/** Every lease leaf is `Marketplace.leaseLeaf` and proves against leasesRoot (processProof and OZ's verify). */
function expectLeasesSound(o: AggregateOutput): void {
  for (const l of o.leases) {
    expect(l.leaf).to.equal(leaseLeaf(l.leaseId, l.delivered, l.breaches));
    expect(processProof(l.leaf, l.proof)).to.equal(o.leasesRoot);
    expect(StandardMerkleTree.verify(o.leasesRoot, LEASE_LEAF_ENCODING, [l.leaseId, l.delivered, l.breaches], l.proof)).to.equal(true);
  }
  if (o.leases.length === 0) expect(o.leasesRoot).to.equal(ZeroHash);
  expect(o.verdict.leasesRoot).to.equal(o.leasesRoot);
  expect(o.leases.map((l) => l.leaseId)).to.deep.equal([...o.leases.map((l) => l.leaseId)].sort((a, b) => (a < b ? -1 : 1)));
  expect(verdictFileDataHash(o.file)).to.equal(o.verdict.dataHash);
}

describe("oracles/aggregate leases", () => {
  it("a fully delivering storage lease delivers 10000 bps per epoch and its cumulative grows", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n)];
    const leases = [lease(1n, [S1], 5n, 10n)];
    const e5 = leaseRun(5n, devices, duty(S1, ProofKind.StorageChallenge, 3), leases);
    expect(e5.leases).to.have.length(1);
    expect(e5.leases[0]).to.include({ leaseId: 1n, deliveredBps: 10_000, delivered: 10_000n, breaches: 0n });
    const e6 = leaseRun(6n, devices, duty(S1, ProofKind.StorageChallenge, 2), leases, cumulativeOf(e5));
    expect(e6.leases[0]).to.include({ deliveredBps: 10_000, delivered: 20_000n, breaches: 0n });
    expect(e6.leasesRoot).to.not.equal(e5.leasesRoot);
    expect(slaFaults(e6)).to.deep.equal([]);
    expectLeasesSound(e5);
    expectLeasesSound(e6);
  });

  it("a half-delivering compute lease: verified quality over all class outcomes, a breach below the service level", () => {
    const devices = [capDev(G1, ResourceClass.ComputeGpu, 8n)];
    // 2 verified of 4 ComputeChallenge outcomes -> 5000; a Receipt of quality 0.5 among 2 -> 2500 (both kinds count).
    const o = leaseRun(7n, devices, duty(G1, ProofKind.ComputeChallenge, 2, 2), [lease(3n, [G1], 7n, 9n, 8_000)], new Map([[3n, { delivered: 0n, breaches: 0n }]]));
    expect(o.leases[0]).to.include({ leaseId: 3n, deliveredBps: 5_000, delivered: 5_000n, breaches: 1n });
    const mixed = leaseRun(7n, devices, [hb(G1), out(G1, ProofKind.ComputeReceipt, verified(1n, 0.5)), out(G1, ProofKind.ComputeChallenge, rejected("x"))], [lease(3n, [G1], 7n, 9n, 2_000)]);
    expect(mixed.leases[0]).to.include({ deliveredBps: 2_500, delivered: 2_500n, breaches: 0n });
    expectLeasesSound(o);
  });

  it("a device offline, without a heartbeat, without class outcomes or not Active delivers 0 (a breach)", () => {
    const leases = [lease(1n, [S1], 0n, 100n, 1)];
    const storage = (status: DeviceStatusInput = "Active") => [capDev(S1, ResourceClass.Storage, 100n, status)];
    const cases: [string, DeviceState[], ProofOutcome[]][] = [
      ["offline", storage(), []],
      ["no verified heartbeat", storage(), [hb(S1, false), out(S1, ProofKind.StorageChallenge, verified(1n))]],
      ["only a heartbeat", storage(), [hb(S1)]],
      ["only outcomes of another class's kind", storage(), [hb(S1), out(S1, ProofKind.CoverageBeacon, verified(1n))]],
      ["Jailed", storage("Jailed"), duty(S1, ProofKind.StorageChallenge, 2)],
      ["absent from chain state", [], duty(S1, ProofKind.StorageChallenge, 2)],
    ];
    for (const [name, devices, outcomes] of cases) {
      const o = leaseRun(4n, devices, outcomes, leases, new Map(), 1);
      expect(o.leases[0], name).to.include({ deliveredBps: 0, delivered: 0n, breaches: 1n });
      // K = 1: a fault at once, for a device present and not Removed
      expect(slaFaults(o), name).to.deep.equal(devices.length === 0 ? [] : [{ device: S1, evidence: ZeroHash.slice(0, 65) + "1" }]);
    }
    const removed = leaseRun(4n, storage("Removed"), [], leases, new Map(), 1);
    expect(removed.leases[0].breaches).to.equal(1n);
    expect(slaFaults(removed)).to.deep.equal([]);
  });

  it("weights devices by capacity; equal weights when the capacities sum to 0", () => {
    const both = [...duty(S1, ProofKind.StorageChallenge, 1), hb(S2)]; // S1 10000, S2 0 (no class outcome)
    const weighted = leaseRun(2n, [capDev(S1, ResourceClass.Storage, 300n), capDev(S2, ResourceClass.Storage, 100n)], both, [lease(9n, [S1, S2], 0n, 5n)]);
    expect(weighted.leases[0].deliveredBps).to.equal(7_500);
    const zero = leaseRun(2n, [capDev(S1, ResourceClass.Storage, 0n), capDev(S2, ResourceClass.Storage, 0n)], both, [lease(9n, [S1, S2], 0n, 5n)]);
    expect(zero.leases[0].deliveredBps).to.equal(5_000);
    // An absent device weighs nothing but counts in the plain average: 10000 x 100 / 100 with capacity; (10000 + 0) / 2 without.
    const absent = leaseRun(2n, [capDev(S1, ResourceClass.Storage, 100n)], both, [lease(9n, [S1, D], 0n, 5n)]);
    expect(absent.leases[0].deliveredBps).to.equal(10_000);
    // floor: 10000 x 1 / 3
    const third = leaseRun(2n, [capDev(S1, ResourceClass.Storage, 1n), capDev(S2, ResourceClass.Storage, 2n)], both, [lease(9n, [S1, S2], 0n, 5n)]);
    expect(third.leases[0].deliveredBps).to.equal(3_333);
    // quality: floor(sum qualityPpm x 10000 / (n x 1e6)): (0.33 + 1) / 3 -> 4433
    const q = leaseRun(2n, [capDev(S1, ResourceClass.Storage, 1n)], [hb(S1), out(S1, ProofKind.StorageChallenge, verified(5n, 0.33)), out(S1, ProofKind.StorageChallenge, verified(1n)), out(S1, ProofKind.StorageChallenge, rejected("x"))], [lease(9n, [S1], 0n, 5n)]);
    expect(q.leases[0].deliveredBps).to.equal(4_433);
  });

  it("carries a lease forward unchanged after its end epoch (deliveredBps null, no breach, no fault)", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n)];
    const previous = new Map([[4n, { delivered: 12_345n, breaches: 2n }]]);
    const o = leaseRun(11n, devices, [], [lease(4n, [S1], 5n, 10n)], previous, 3);
    expect(o.leases).to.have.length(1);
    expect(o.leases[0]).to.include({ leaseId: 4n, deliveredBps: null, delivered: 12_345n, breaches: 2n });
    expect(slaFaults(o)).to.deep.equal([]);
    expectLeasesSound(o);
    // at its end epoch it still counts
    const last = leaseRun(10n, devices, [], [lease(4n, [S1], 5n, 10n)], previous, 3);
    expect(last.leases[0]).to.include({ deliveredBps: 0, delivered: 12_345n, breaches: 3n });
  });

  it("does not list a lease before its start epoch, nor one only in previousLeases", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n)];
    const o = leaseRun(4n, devices, duty(S1, ProofKind.StorageChallenge, 1), [lease(2n, [S1], 5n, 10n)], new Map([[7n, { delivered: 5n, breaches: 0n }]]));
    expect(o.leases).to.deep.equal([]);
    expect(o.leasesRoot).to.equal(ZeroHash);
    expect(o.verdict.leasesRoot).to.equal(ZeroHash);
    const file = JSON.parse(o.file) as { version: number; leasesRoot: string; leases: unknown[] };
    expect(file).to.include({ version: 2, leasesRoot: ZeroHash });
    expect(file.leases).to.deep.equal([]);
  });

  it("faults the under-delivering devices at the K-th breach only (and at 2K), evidence = bytes32(leaseId)", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n), capDev(S2, ResourceClass.Storage, 100n), capDev(G1, ResourceClass.ComputeGpu, 1n)];
    // S1 delivers, S2 is offline: the lease delivers 5000 < 9000 every epoch; G1 delivers in its own lease.
    const leases = [lease(0x1234n, [S1, S2], 1n, 20n, 9_000), lease(5n, [G1], 1n, 20n, 9_000)];
    const outcomes = [...duty(S1, ProofKind.StorageChallenge, 2), ...duty(G1, ProofKind.ComputeChallenge, 1)];
    let previous: Map<bigint, LeaseCumulative> = new Map();
    const faultEpochs: bigint[] = [];
    for (let epoch = 1n; epoch <= 7n; epoch++) {
      const o = leaseRun(epoch, devices, outcomes, leases, previous, 3);
      const l = o.leases.find((x) => x.leaseId === 0x1234n)!;
      expect(l).to.include({ deliveredBps: 5_000, delivered: 5_000n * epoch, breaches: epoch });
      expect(o.leases.find((x) => x.leaseId === 5n)).to.include({ deliveredBps: 10_000, breaches: 0n });
      const sla = slaFaults(o);
      if (sla.length > 0) {
        faultEpochs.push(epoch);
        expect(sla).to.deep.equal([{ device: S2, evidence: "0x" + "0".repeat(60) + "1234" }]);
        expect(sla[0].evidence).to.equal(zeroPadValue(toBeHex(0x1234n), 32));
        const f = o.faults.find((x) => x.kind === FaultKind.ServiceLevelBreach)!;
        expect(f.leaf).to.equal(faultLeaf(S2, FaultKind.ServiceLevelBreach, f.evidence));
      }
      expectTreesSound(o);
      expectLeasesSound(o);
      previous = cumulativeOf(o);
    }
    expect(faultEpochs).to.deep.equal([3n, 6n]);
  });

  it("one ServiceLevelBreach per device: the lowest lease id's evidence when two leases fault it", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n)];
    const o = leaseRun(3n, devices, [], [lease(8n, [S1], 0n, 9n), lease(6n, [S1], 0n, 9n)], new Map(), 1);
    expect(slaFaults(o)).to.deep.equal([{ device: S1, evidence: zeroPadValue(toBeHex(6n), 32) }]);
    expect(o.leases.map((l) => [l.leaseId, l.breaches])).to.deep.equal([[6n, 1n], [8n, 1n]]);
  });

  it("writes version 2 with leasesRoot and the leases (decimal strings, leaf, proof); leasesOfVerdictFile reads them back", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 100n), capDev(G1, ResourceClass.ComputeGpu, 1n)];
    const o = leaseRun(9n, devices, duty(S1, ProofKind.StorageChallenge, 1), [lease(2n, [S1], 0n, 20n), lease(1n, [G1], 0n, 5n)], new Map([[1n, { delivered: 7n, breaches: 1n }]]));
    const file = JSON.parse(o.file) as { version: number; leasesRoot: string; leases: { leaseId: string; deliveredBps: number | null; delivered: string; breaches: string; leaf: string; proof: string[] }[] };
    expect(file.version).to.equal(2);
    expect(file.leasesRoot).to.equal(o.leasesRoot).and.to.not.equal(ZeroHash);
    expect(file.leases.map(({ leaseId, deliveredBps, delivered, breaches }) => ({ leaseId, deliveredBps, delivered, breaches }))).to.deep.equal([
      { leaseId: "1", deliveredBps: null, delivered: "7", breaches: "1" },
      { leaseId: "2", deliveredBps: 10_000, delivered: "10000", breaches: "0" },
    ]);
    expect(file.leases.map((l) => [l.leaf, l.proof])).to.deep.equal(o.leases.map((l) => [l.leaf, l.proof]));
    expect(leasesOfVerdictFile(o.file)).to.deep.equal(cumulativeOf(o));
    const v1 = JSON.parse(o.file) as Record<string, unknown>;
    delete v1.leases;
    expect(leasesOfVerdictFile(JSON.stringify(v1)).size).to.equal(0);
    expectLeasesSound(o);
  });

  it("is order-independent (leases, their devices, outcomes, previous leases)", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 3n), capDev(S2, ResourceClass.Storage, 5n), capDev(G1, ResourceClass.ComputeGpu, 1n), capDev(A, ResourceClass.Coverage, 0n)];
    const outcomes = [...duty(S1, ProofKind.StorageChallenge, 2, 1, 0.7), ...duty(G1, ProofKind.ComputeReceipt, 1, 1), hb(S2), out(A, ProofKind.CoverageBeacon, verified(2n))];
    const leases = [lease(1n, [S1, S2], 0n, 9n), lease(2n, [G1, A, S2], 2n, 9n, 4_000), lease(3n, [S2], 0n, 2n), lease(4n, [A], 6n, 9n)];
    const previous = new Map([[1n, { delivered: 100n, breaches: 2n }], [2n, { delivered: 5n, breaches: 0n }], [3n, { delivered: 9n, breaches: 1n }], [99n, { delivered: 1n, breaches: 1n }]]);
    const base = leaseRun(3n, devices, outcomes, leases, previous, 3);
    expect(base.leases.map((l) => l.leaseId)).to.deep.equal([1n, 2n, 3n]);
    for (let seed = 1; seed <= 6; seed++) {
      const o = leaseRun(
        3n,
        shuffle(devices, seed),
        shuffle(outcomes, seed * 3),
        shuffle(leases, seed * 5).map((l) => ({ ...l, devices: shuffle(l.devices, seed * 7) })),
        new Map(shuffle([...previous.entries()], seed * 11)),
        3,
      );
      expect(o.file).to.equal(base.file);
      expect(o.verdict).to.deep.equal(base.verdict);
    }
    expectLeasesSound(base);
  });

  it("rejects inconsistent leases", () => {
    const devices = [capDev(S1, ResourceClass.Storage, 1n)];
    const bad = (leases: LeaseState[], previous: Map<bigint, LeaseCumulative> = new Map(), k = 3) => () => leaseRun(1n, devices, [], leases, previous, k);
    expect(bad([lease(1n, [S1], 0n, 5n), lease(1n, [S1], 2n, 5n)])).to.throw(AggregateInputError, /duplicate lease/);
    expect(bad([lease(1n, [S1], 0n, 5n, 10_001)])).to.throw(AggregateInputError, /minDeliveryBps/);
    expect(bad([lease(1n, [S1], 0n, 5n, -1)])).to.throw(AggregateInputError, /minDeliveryBps/);
    expect(bad([lease(1n, [S1], 0n, 5n, 0.5)])).to.throw(AggregateInputError, /minDeliveryBps/);
    expect(bad([lease(1n, [S1], 6n, 5n)])).to.throw(AggregateInputError, /starts after/);
    expect(bad([lease(1n, Array.from({ length: 9 }, (_, i) => addr(0x80 + i)), 0n, 5n)])).to.throw(AggregateInputError, /1 to 8 devices/);
    expect(bad([lease(1n, [], 0n, 5n)])).to.throw(AggregateInputError, /1 to 8 devices/);
    expect(bad([lease(1n, ["0x1234"], 0n, 5n)])).to.throw(AggregateInputError, /not an address/);
    expect(bad([lease(-1n, [S1], 0n, 5n)])).to.throw(AggregateInputError, /uint256/);
    expect(bad([], new Map([[1n, { delivered: -1n, breaches: 0n }]]))).to.throw(AggregateInputError, /negative previous lease/);
    expect(bad([], new Map([[1n, { delivered: 0n, breaches: -1n }]]))).to.throw(AggregateInputError, /negative previous lease/);
    expect(bad([], new Map(), 0)).to.throw(AggregateInputError, /slaBreachEpochs/);
    // eight devices are fine
    expect(bad([lease(1n, Array.from({ length: 8 }, (_, i) => addr(0x80 + i)), 0n, 5n)])).to.not.throw();
  });

  it("property: over a multi-epoch run, delivered <= 10000 x epochs in term, breaches <= epochs in term, faults only at multiples of K", () => {
    const pool = [
      capDev(addr(0xa1), ResourceClass.Storage, 10n),
      capDev(addr(0xa2), ResourceClass.Storage, 0n),
      capDev(addr(0xa3), ResourceClass.ComputeCpu, 4n),
      capDev(addr(0xa4), ResourceClass.Coverage, 1n, "Jailed"),
      capDev(addr(0xa5), ResourceClass.Energy, 7n),
    ];
    const kindOf = (c: ResourceClass): ProofKind =>
      c === ResourceClass.Storage ? ProofKind.StorageChallenge : c === ResourceClass.Coverage ? ProofKind.CoverageWitness : c === ResourceClass.Energy ? ProofKind.EnergyReading : ProofKind.ComputeChallenge;
    const leaseArb = fc.record({
      devices: fc.uniqueArray(fc.nat(pool.length - 1), { minLength: 1, maxLength: 3 }),
      start: fc.bigInt({ min: 0n, max: 6n }),
      length: fc.bigInt({ min: 0n, max: 6n }),
      min: fc.integer({ min: 0, max: 10_000 }),
    });
    const outcomeArb = fc.record({ who: fc.nat(pool.length - 1), heartbeat: fc.boolean(), ok: fc.boolean(), quality: fc.double({ min: 0, max: 1, noNaN: true }) });
    fc.assert(
      fc.property(
        fc.array(leaseArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(outcomeArb, { maxLength: 12 }), { minLength: 8, maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (ls, perEpoch, k) => {
          const leases = ls.map((l, i) => lease(BigInt(i + 1), l.devices.map((d) => pool[d].device), l.start, l.start + l.length, l.min));
          let previous = new Map<bigint, LeaseCumulative>();
          for (let e = 0; e < perEpoch.length; e++) {
            const epoch = BigInt(e);
            let nonce = 0n;
            const outcomes = perEpoch[e].map((x): ProofOutcome => {
              const d = pool[x.who];
              const kind = x.heartbeat ? ProofKind.Heartbeat : kindOf(d.resourceClass);
              nonce += 1n;
              return { device: d.device, kind, nonce, result: x.ok ? verified(1n, x.quality) : rejected("r"), evidence: ev(e * 1000 + Number(nonce)) };
            });
            const o = leaseRun(epoch, pool, outcomes, leases, previous, k);
            expect(o.leases.map((l) => l.leaseId)).to.deep.equal(leases.filter((l) => l.startEpoch <= epoch).map((l) => l.leaseId));
            for (const l of o.leases) {
              const def = leases[Number(l.leaseId) - 1];
              const last = epoch < def.endEpoch ? epoch : def.endEpoch;
              const inTerm = last - def.startEpoch + 1n;
              expect(l.delivered <= 10_000n * inTerm).to.equal(true);
              expect(l.breaches <= inTerm).to.equal(true);
              const prev = previous.get(l.leaseId) ?? { delivered: 0n, breaches: 0n };
              expect(l.delivered >= prev.delivered && l.breaches >= prev.breaches).to.equal(true);
              if (l.deliveredBps === null) expect([l.delivered, l.breaches]).to.deep.equal([prev.delivered, prev.breaches]);
              else {
                expect(l.deliveredBps >= 0 && l.deliveredBps <= 10_000).to.equal(true);
                expect(l.delivered).to.equal(prev.delivered + BigInt(l.deliveredBps));
              }
            }
            for (const f of o.faults.filter((x) => x.kind === FaultKind.ServiceLevelBreach)) {
              const l = o.leases.find((x) => zeroPadValue(toBeHex(x.leaseId), 32) === f.evidence)!;
              expect(l.deliveredBps !== null && l.breaches % BigInt(k) === 0n && l.breaches > (previous.get(l.leaseId)?.breaches ?? 0n)).to.equal(true);
            }
            expectLeasesSound(o);
            previous = leasesOfVerdictFile(o.file);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
