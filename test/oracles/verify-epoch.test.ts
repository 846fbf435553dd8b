import { expect } from "chai";
import { ethers } from "ethers";

import { FaultKind, ResourceClass } from "../../sdk/enums";
import { CHUNKS_PER_GIB, createFleet, fleetProofs, type Fleet, type FleetMember } from "../../oracles/agent";
import { aggregateEpoch, type DeviceState, type ProofOutcome } from "../../oracles/aggregate";
import { ProofKind, proofDigest, signProof, type ProofRecord } from "../../oracles/proof";
import { JOB_RECEIPT_TYPES } from "../../oracles/verify/compute";
import {
  STORAGE_CHUNKS_PER_GIB,
  expectedBeaconId,
  lastMeterReadings,
  verifyEpoch,
  type EpochDevice,
  type EpochProof,
  type VerifyEpochInput,
} from "../../oracles/verify/epoch";
import type { EpochWindow } from "../../oracles/verify/mapping";

const EPOCH_LEN = 3_600;
const windowOf = (epoch: bigint): EpochWindow => ({
  start: 1_800_000_000 + Number(epoch) * EPOCH_LEN,
  end: 1_800_000_000 + (Number(epoch) + 1) * EPOCH_LEN,
});
const seedOf = (epoch: bigint): string => ethers.id(`verify-epoch-seed-${epoch}`);
const ALL_CLASSES = Object.values(ResourceClass);

/** Proofs as the ingest stage stores them: the record and its EIP-712 digest. */
const stored = (fleet: Fleet, records: readonly ProofRecord[]): EpochProof[] =>
  records.map((record) => ({ record, digest: proofDigest(fleet.domain, record) }));

const registration = (m: FleetMember): EpochDevice => ({
  resourceClass: m.device.resourceClass,
  capacity: BigInt(m.device.capacity),
});
const registry = (fleet: Fleet): Map<string, EpochDevice> =>
  new Map(fleet.members.map((m) => [m.device.address, registration(m)]));

/** The verify input of `epoch` for `fleet` (overrides on top). */
function epochInput(fleet: Fleet, epoch: bigint, overrides: Partial<VerifyEpochInput> = {}): VerifyEpochInput {
  const window = windowOf(epoch);
  return {
    epoch,
    seed: seedOf(epoch),
    window,
    devices: registry(fleet),
    proofs: stored(fleet, fleetProofs(fleet, epoch, seedOf(epoch), window)),
    ...overrides,
  };
}

const outcomesOf = (outcomes: readonly ProofOutcome[], device: string): ProofOutcome[] =>
  outcomes.filter((o) => o.device === device);
const faultsOf = (outcomes: readonly ProofOutcome[]): (FaultKind | null)[] =>
  outcomes.flatMap((o) => (o.result.ok ? [] : [o.result.fault]));
const workOf = (outcomes: readonly ProofOutcome[]): bigint =>
  outcomes.reduce((s, o) => s + (o.result.ok ? o.result.workUnits : 0n), 0n);
const reasonOf = (o: ProofOutcome): string => (o.result.ok ? "" : o.result.reason);

/** A deterministic shuffle (keyed by a hash of each element's position). */
function shuffled<T>(xs: readonly T[], salt: string): T[] {
  return xs
    .map((x, i) => ({ x, k: ethers.id(`${salt}/${i}`) }))
    .sort((a, b) => (a.k < b.k ? -1 : 1))
    .map((e) => e.x);
}

describe("oracles/verify/epoch", () => {
  // 30 devices, 5 per class: small enough to stay fast, big enough for every coverage beacon to be heard.
  const honest = createFleet({ count: 30, seed: "verify-epoch-honest", proportions: { honest: 1 } });
  const E = 3n;
  const honestInput = epochInput(honest, E);
  const honestOutcomes = verifyEpoch(honestInput);

  describe("honest fleet", () => {
    it("gives every proof one outcome, evidenced by its digest, sorted by (device, nonce)", () => {
      expect(honestOutcomes).to.have.length(honestInput.proofs.length);
      const digests = new Map(honestInput.proofs.map((p) => [`${p.record.device}/${p.record.nonce}`, p.digest]));
      for (const o of honestOutcomes) expect(o.evidence).to.equal(digests.get(`${o.device}/${o.nonce}`));
      const keys = honestOutcomes.map((o) => [o.device.toLowerCase(), o.nonce] as const);
      for (let i = 1; i < keys.length; i++) {
        const [d0, n0] = keys[i - 1];
        const [d1, n1] = keys[i];
        expect(d0 < d1 || (d0 === d1 && n0 < n1), `order at ${i}`).to.equal(true);
      }
    });

    it("verifies every proof of every class: work for every device, no rejection, no fault", () => {
      const classes = new Set<ResourceClass>();
      for (const m of honest.members) {
        const mine = outcomesOf(honestOutcomes, m.device.address);
        for (const o of mine)
          expect(o.result, `device ${m.index} kind ${o.kind}: ${reasonOf(o)}`).to.include({ ok: true });
        expect(workOf(mine) > 0n, `device ${m.index} class ${m.device.resourceClass}`).to.equal(true);
        classes.add(m.device.resourceClass);
      }
      expect([...classes].sort()).to.deep.equal(ALL_CLASSES);
    });

    it("scores each group once: storage earns its capacity, heartbeats 0, energy the metered Wh", () => {
      for (const m of honest.members) {
        const mine = outcomesOf(honestOutcomes, m.device.address);
        const hb = mine.filter((o) => o.kind === ProofKind.Heartbeat);
        expect(hb).to.have.length(1);
        expect(hb[0].result).to.deep.equal({ ok: true, workUnits: 0n, quality: 1 });
        if (m.device.resourceClass === ResourceClass.Storage) {
          const answers = mine.filter((o) => o.kind === ProofKind.StorageChallenge);
          expect(answers).to.have.length(32);
          expect(answers.map((o) => (o.result.ok ? o.result.workUnits : -1n))).to.deep.equal([
            BigInt(m.device.capacity),
            ...new Array<bigint>(31).fill(0n),
          ]);
        }
        if (m.device.resourceClass === ResourceClass.Energy) {
          const readAt = (i: number) => windowOf(E).start + Math.floor(((i + 1) * EPOCH_LEN) / 5);
          expect(workOf(mine)).to.equal(m.device.meterWh(readAt(3)) - m.device.meterWh(readAt(0)));
        }
      }
    });

    it("derives the chunk count from 4 KiB chunks, as the simulator commits them", () => {
      expect(STORAGE_CHUNKS_PER_GIB).to.equal(BigInt(CHUNKS_PER_GIB));
    });

    it("does not depend on the order of the proofs (or on duplicate copies)", () => {
      const proofs = shuffled([...honestInput.proofs, ...honestInput.proofs.slice(0, 40)], "order");
      expect(verifyEpoch({ ...honestInput, proofs })).to.deep.equal(honestOutcomes);
      expect(verifyEpoch({ ...honestInput, proofs: [...honestInput.proofs].reverse() })).to.deep.equal(honestOutcomes);
    });
  });

  describe("input selection", () => {
    it("ignores proofs of unregistered devices", () => {
      const gone = honest.members[7].device.address;
      const devices = registry(honest);
      devices.delete(gone);
      const out = verifyEpoch({ ...honestInput, devices });
      expect(outcomesOf(out, gone)).to.have.length(0);
      expect(honest.members[7].device.resourceClass).to.equal(ResourceClass.Storage); // no other device depends on it
      expect(out).to.deep.equal(honestOutcomes.filter((o) => o.device !== gone));
    });

    it("accepts registry keys in any spelling", () => {
      const devices = new Map([...registry(honest)].map(([k, v]) => [k.toLowerCase(), v]));
      expect(verifyEpoch({ ...honestInput, devices })).to.deep.equal(honestOutcomes);
    });

    it("ignores proofs of other epochs", () => {
      const next = epochInput(honest, E + 1n);
      const mixed = shuffled([...honestInput.proofs, ...next.proofs], "epochs");
      expect(verifyEpoch({ ...honestInput, proofs: mixed })).to.deep.equal(honestOutcomes);
    });

    it("rejects, without fault, kinds the registered class may not send and records of another class", () => {
      const gpu = honest.members.find((m) => m.device.resourceClass === ResourceClass.ComputeGpu)!;
      const mapper = honest.members.find((m) => m.device.resourceClass === ResourceClass.Mapping)!;
      const devices = registry(honest);
      // Registered as CPU: ComputeChallenge is allowed for CPU, but the records say GPU.
      devices.set(gpu.device.address, { ...registration(gpu), resourceClass: ResourceClass.ComputeCpu });
      // A Mapping device's records relabelled as Energy would fail the signature; instead register it as Energy.
      devices.set(mapper.device.address, { ...registration(mapper), resourceClass: ResourceClass.Energy });
      const out = verifyEpoch({ ...honestInput, devices });
      for (const m of [gpu, mapper]) {
        const mine = outcomesOf(out, m.device.address);
        expect(mine.length).to.be.greaterThan(0);
        for (const o of mine) expect(o.result).to.deep.include({ ok: false, fault: null });
      }
      expect(reasonOf(outcomesOf(out, gpu.device.address)[0])).to.match(/registered as 3/);
    });

    it("a kind outside the class's kinds is rejected without fault even when the record's class matches", () => {
      // parseProofRecord refuses such a record, so it can only reach verify through a bug upstream: built by hand.
      const storage = honest.members.find((m) => m.device.resourceClass === ResourceClass.Storage)!;
      const window = windowOf(E);
      const capture: ProofRecord = {
        device: storage.device.address,
        epoch: E,
        resourceClass: ResourceClass.Storage,
        nonce: E * (1n << 20n) + 500n,
        timestamp: BigInt(window.start + 10),
        kind: ProofKind.MappingCapture,
        payload: { lat: 37.77, lng: -122.42, capturedAt: window.start + 10, imageHash: ethers.id("img") },
        signature: "0x",
      };
      const out = verifyEpoch({ ...honestInput, proofs: [...honestInput.proofs, ...stored(honest, [capture])] });
      const o = out.find((x) => x.nonce === capture.nonce && x.device === capture.device)!;
      expect(o.result).to.deep.include({ ok: false, fault: null });
      expect(reasonOf(o)).to.match(/not allowed for class 1/);
    });
  });

  describe("cheating behaviours", () => {
    it("lazy storage and lazy compute give InvalidProof", () => {
      const fleet = createFleet({
        count: 6,
        seed: "verify-epoch-lazy",
        proportions: { lazy: 1 },
        classes: [ResourceClass.Storage, ResourceClass.ComputeGpu],
      });
      const out = verifyEpoch(epochInput(fleet, E));
      for (const m of fleet.members) {
        const mine = outcomesOf(out, m.device.address);
        const work = mine.filter((o) => o.kind !== ProofKind.Heartbeat);
        expect(work.length).to.be.greaterThan(0);
        for (const o of work) expect(o.result.ok).to.equal(false);
        expect(faultsOf(work).filter((f) => f !== null)).to.deep.equal([FaultKind.InvalidProof]);
        if (m.device.resourceClass === ResourceClass.Storage) {
          expect(reasonOf(work[0])).to.match(/unanswered/);
          expect(reasonOf(work[work.length - 1])).to.match(/judged with nonce/);
        }
      }
    });

    it("spoofing coverage and mapping devices get LocationSpoofing; honest ones no fault", () => {
      const fleet = createFleet({
        count: 36,
        seed: "verify-epoch-spoof",
        proportions: { honest: 5, spoofing: 1 },
        classes: [ResourceClass.Coverage, ResourceClass.Mapping],
      });
      const out = verifyEpoch(epochInput(fleet, E));
      const spoofers = fleet.members.filter((m) => m.behaviour === "spoofing");
      expect(spoofers.map((m) => m.device.resourceClass)).to.include.members([
        ResourceClass.Coverage,
        ResourceClass.Mapping,
      ]);
      for (const m of fleet.members) {
        const mine = outcomesOf(out, m.device.address);
        const faults = faultsOf(mine).filter((f) => f !== null);
        if (m.behaviour === "honest") {
          expect(faults, `honest ${m.index}`).to.deep.equal([]);
          expect(workOf(mine) > 0n, `honest ${m.index} earns`).to.equal(true);
        } else {
          expect(faults, `spoofer ${m.index}`).to.include(FaultKind.LocationSpoofing);
          expect(workOf(mine), `spoofer ${m.index} earns nothing`).to.equal(0n);
        }
      }
    });

    it("witnesses of a spoofed beacon lose its credit but are not blamed; a spoofer's own witness reports are", () => {
      const fleet = createFleet({
        count: 36,
        seed: "verify-epoch-spoof",
        proportions: { honest: 5, spoofing: 1 },
        classes: [ResourceClass.Coverage, ResourceClass.Mapping],
      });
      const input = epochInput(fleet, E);
      const out = verifyEpoch(input);
      const spoofer = fleet.members.find(
        (m) => m.behaviour === "spoofing" && m.device.resourceClass === ResourceClass.Coverage,
      )!;
      const isWitness = (o: ProofOutcome) => o.kind === ProofKind.CoverageWitness;
      const beacon = outcomesOf(out, spoofer.device.address).find((o) => o.kind === ProofKind.CoverageBeacon)!;
      expect(beacon.result).to.include({ ok: false, fault: FaultKind.LocationSpoofing });
      const ofSpoofedBeacon = input.proofs.filter(
        (p) => p.record.kind === ProofKind.CoverageWitness && p.record.payload.beaconDevice === spoofer.device.address,
      );
      expect(ofSpoofedBeacon.length).to.be.greaterThan(1);
      for (const p of ofSpoofedBeacon) {
        const o = out.find((x) => x.device === p.record.device && x.nonce === p.record.nonce)!;
        expect(o.result).to.deep.include({ ok: false, fault: null });
        expect(reasonOf(o)).to.match(/judged spoofed/);
      }
      const ownReports = outcomesOf(out, spoofer.device.address).filter(isWitness);
      expect(ownReports.length).to.be.greaterThan(0);
      expect(faultsOf(ownReports)).to.include(FaultKind.LocationSpoofing);
    });

    it("forged records are ingest's business: verify trusts their signature, so right content verifies", () => {
      const fleet = createFleet({
        count: 6,
        seed: "verify-epoch-forge",
        proportions: { forging: 1 },
        classes: [ResourceClass.ComputeCpu, ResourceClass.Mapping],
      });
      const out = verifyEpoch(epochInput(fleet, E));
      expect(out.length).to.be.greaterThan(6);
      for (const o of out) expect(o.result.ok).to.equal(true);
    });

    it("replays: another epoch's heartbeat is ignored, a reused nonce yields one outcome", () => {
      const fleet = createFleet({
        count: 6,
        seed: "verify-epoch-replay",
        proportions: { replaying: 1 },
        classes: [ResourceClass.ComputeCpu],
      });
      const honestTwin = createFleet({
        count: 6,
        seed: "verify-epoch-replay",
        proportions: { honest: 1 },
        classes: [ResourceClass.ComputeCpu],
      });
      // Epoch 1: last epoch's heartbeat re-sent verbatim -> dropped as a proof of epoch 0.
      expect(verifyEpoch(epochInput(fleet, 1n))).to.deep.equal(verifyEpoch(epochInput(honestTwin, 1n)));
      // Epoch 0: a second heartbeat reusing the first one's nonce -> one outcome per (device, nonce).
      const input = epochInput(fleet, 0n);
      const out = verifyEpoch(input);
      expect(input.proofs.length).to.equal(out.length + 6);
      expect(new Set(out.map((o) => `${o.device}/${o.nonce}`)).size).to.equal(out.length);
      expect(verifyEpoch({ ...input, proofs: shuffled(input.proofs, "replay") })).to.deep.equal(out);
    });
  });

  describe("class rules", () => {
    const member = (c: ResourceClass): FleetMember => honest.members.find((m) => m.device.resourceClass === c)!;
    const ctx = { epoch: E, seed: seedOf(E), window: windowOf(E), domain: honest.domain };
    /** The honest input with `device`'s proofs replaced by `records`. */
    const replaced = (device: string, records: readonly ProofRecord[]): VerifyEpochInput => ({
      ...honestInput,
      proofs: [...honestInput.proofs.filter((p) => p.record.device !== device), ...stored(honest, records)],
    });

    it("a beacon with a wrong id is InvalidProof; its witnesses earn nothing and are not blamed", () => {
      const m = member(ResourceClass.Coverage);
      const bodies = m.device
        .bodies(ctx)
        .map((b) =>
          b.kind === ProofKind.CoverageBeacon ? { ...b, payload: { ...b.payload, beaconId: ethers.id("made-up") } } : b,
        );
      const out = verifyEpoch(replaced(m.device.address, m.device.sign(ctx, bodies)));
      const beacon = outcomesOf(out, m.device.address).find((o) => o.kind === ProofKind.CoverageBeacon)!;
      expect(beacon.result).to.include({ ok: false, fault: FaultKind.InvalidProof });
      expect(expectedBeaconId(ctx.seed, m.device.address, E)).to.equal(m.device.beaconId(ctx.seed, E));
      const witnesses = honestInput.proofs.filter(
        (p) => p.record.kind === ProofKind.CoverageWitness && p.record.payload.beaconDevice === m.device.address,
      );
      expect(witnesses.length).to.be.greaterThan(0);
      for (const p of witnesses) {
        const o = out.find((x) => x.device === p.record.device && x.nonce === p.record.nonce)!;
        expect(o.result).to.deep.include({ ok: false, fault: null });
      }
    });

    it("storage answers naming two data roots, or not the registered one, are InvalidProof, counted once", () => {
      const m = member(ResourceClass.Storage);
      const bodies = m.device
        .bodies(ctx)
        .map((b, i) =>
          b.kind === ProofKind.StorageChallenge && i === 5
            ? { ...b, payload: { ...b.payload, dataRoot: ethers.id("x") } }
            : b,
        );
      const out = outcomesOf(verifyEpoch(replaced(m.device.address, m.device.sign(ctx, bodies))), m.device.address);
      expect(faultsOf(out)).to.deep.equal([FaultKind.InvalidProof, ...new Array<null>(31).fill(null)]);

      const devices = registry(honest);
      devices.set(m.device.address, { ...registration(m), dataRoot: ethers.id("registered") });
      const wrongRoot = outcomesOf(verifyEpoch({ ...honestInput, devices }), m.device.address);
      expect(faultsOf(wrongRoot)).to.deep.equal([FaultKind.InvalidProof, ...new Array<null>(31).fill(null)]);
      devices.set(m.device.address, {
        ...registration(m),
        dataRoot: m.device.storage!.dataRoot.toUpperCase().replace("0X", "0x"),
      });
      expect(verifyEpoch({ ...honestInput, devices })).to.deep.equal(honestOutcomes);
    });

    it("a compute answer whose resultHash is not the digest of its result is InvalidProof", () => {
      const m = member(ResourceClass.ComputeGpu);
      const bodies = m.device
        .bodies(ctx)
        .map((b) =>
          b.kind === ProofKind.ComputeChallenge
            ? { ...b, payload: { ...b.payload, resultHash: ethers.id("other") } }
            : b,
        );
      const out = outcomesOf(verifyEpoch(replaced(m.device.address, m.device.sign(ctx, bodies))), m.device.address);
      const c = out.find((o) => o.kind === ProofKind.ComputeChallenge)!;
      expect(c.result).to.include({ ok: false, fault: FaultKind.InvalidProof });
      expect(reasonOf(c)).to.match(/resultHash/);
    });

    it("job receipts verify under the configured domain and are rejected without one", async () => {
      const m = member(ResourceClass.ComputeCpu);
      const client = ethers.Wallet.createRandom();
      const receiptDomain = {
        name: "Meshwork Market",
        version: "1",
        chainId: 31337n,
        verifyingContract: ethers.ZeroAddress,
      };
      const receipt = { jobId: ethers.id("job-1"), device: m.device.address, workUnits: 1_234n };
      const clientSignature = await client.signTypedData(receiptDomain, JOB_RECEIPT_TYPES, receipt);
      const record = signProof(m.device.wallet, honest.domain, {
        kind: ProofKind.ComputeReceipt,
        payload: { jobId: receipt.jobId, client: client.address, workUnits: "1234", clientSignature },
        epoch: E,
        resourceClass: ResourceClass.ComputeCpu,
        nonce: E * (1n << 20n) + 100n,
        timestamp: BigInt(windowOf(E).start + 5),
      });
      const proofs = [...honestInput.proofs, ...stored(honest, [record])];
      const find = (out: ProofOutcome[]) => out.find((o) => o.nonce === record.nonce && o.device === record.device)!;
      expect(find(verifyEpoch({ ...honestInput, proofs, receiptDomain })).result).to.deep.equal({
        ok: true,
        workUnits: 1_234n,
        quality: 1,
      });
      expect(find(verifyEpoch({ ...honestInput, proofs })).result).to.deep.include({ ok: false, fault: null });
      const otherDomain = { ...receiptDomain, chainId: 1n };
      expect(find(verifyEpoch({ ...honestInput, proofs, receiptDomain: otherDomain })).result).to.include({
        ok: false,
        fault: FaultKind.InvalidProof,
      });
    });

    it("energy uses the previous epoch's last reading; a counter that went back is InvalidProof", () => {
      const energy = honest.members.filter((m) => m.device.resourceClass === ResourceClass.Energy);
      const previousReadings = lastMeterReadings(honestInput.proofs);
      expect([...previousReadings.keys()].sort()).to.deep.equal(energy.map((m) => m.device.address).sort());
      const next = epochInput(honest, E + 1n);
      const without = verifyEpoch(next);
      const withPrev = verifyEpoch({ ...next, previousReadings });
      const lastOf = (epoch: bigint) => windowOf(epoch).start + Math.floor((4 * EPOCH_LEN) / 5);
      for (const m of energy) {
        const prev = previousReadings.get(m.device.address)!;
        expect(prev).to.deep.equal({ at: lastOf(E), whCumulative: m.device.meterWh(lastOf(E)) });
        const earned = workOf(outcomesOf(withPrev, m.device.address));
        expect(earned).to.equal(m.device.meterWh(lastOf(E + 1n)) - prev.whCumulative);
        expect(earned > workOf(outcomesOf(without, m.device.address))).to.equal(true);
      }
      const [first] = energy;
      const tampered = new Map(previousReadings);
      const ahead = previousReadings.get(first.device.address)!.whCumulative + 10n ** 12n;
      tampered.set(first.device.address, { at: lastOf(E), whCumulative: ahead });
      const bad = outcomesOf(verifyEpoch({ ...next, previousReadings: tampered }), first.device.address);
      expect(faultsOf(bad)).to.deep.equal([FaultKind.InvalidProof, null, null, null]);
    });
  });

  describe("end to end with aggregateEpoch", () => {
    it("splits an honest majority from its cheaters", () => {
      const fleet = createFleet({
        count: 36,
        seed: "verify-epoch-e2e",
        proportions: { honest: 8, lazy: 1, spoofing: 1, offline: 1 },
      });
      const input = epochInput(fleet, E);
      const outcomes = verifyEpoch(input);
      const devices: DeviceState[] = fleet.members.map((m) => ({
        device: m.device.address,
        operator: m.device.address,
        resourceClass: m.device.resourceClass,
        status: "Active",
        capacity: BigInt(m.device.capacity),
      }));
      const agg = aggregateEpoch({
        epoch: E,
        devices,
        outcomes: shuffled(outcomes, "e2e"),
        emission: 10n ** 24n,
        classSplitBps: [2_000, 2_000, 1_500, 1_500, 1_500, 1_500],
        previous: new Map(),
        leases: [],
        previousLeases: new Map(),
        slaBreachEpochs: 3,
      });
      const rewardOf = new Map(agg.rewards.map((r) => [r.device, r.reward]));
      const faultsOfDevice = (d: string) => agg.faults.filter((f) => f.device === d).map((f) => f.kind);
      const expected = (m: FleetMember): FaultKind[] => {
        const c = m.device.resourceClass;
        switch (m.behaviour) {
          case "offline":
            return [FaultKind.MissedDuty];
          case "lazy":
            return c === ResourceClass.Storage || c === ResourceClass.ComputeGpu || c === ResourceClass.ComputeCpu
              ? [FaultKind.InvalidProof]
              : [];
          case "spoofing":
            return c === ResourceClass.Coverage || c === ResourceClass.Mapping ? [FaultKind.LocationSpoofing] : [];
          default:
            return [];
        }
      };
      let cheatersCaught = 0;
      for (const m of fleet.members) {
        const want = expected(m);
        expect(
          faultsOfDevice(m.device.address),
          `device ${m.index} (${m.behaviour}, class ${m.device.resourceClass})`,
        ).to.deep.equal(want);
        const reward = rewardOf.get(m.device.address) ?? 0n;
        if (want.length === 0)
          expect(reward > 0n, `device ${m.index} (${m.behaviour}) paid`).to.equal(true);
        else {
          expect(reward, `device ${m.index} (${m.behaviour}) unpaid`).to.equal(0n);
          cheatersCaught++;
        }
      }
      expect(cheatersCaught).to.equal(7); // 2 spoofers (coverage, mapping), 1 lazy storage, 4 offline
      expect(agg.allocated <= 10n ** 24n).to.equal(true);
    });
  });
});
