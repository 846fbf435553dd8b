import { expect } from "chai";
import { ethers } from "ethers";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { FaultKind, ResourceClass } from "../../sdk/enums";
import {
  BEHAVIOURS,
  Device,
  behaviourCounts,
  createFleet,
  fleetProofs,
  folderStore,
  memoryStore,
  periodicStore,
  pseudoRandomChunks,
  walletFromSeed,
  type Fleet,
} from "../../oracles/agent";
import { ProofKind, parseProofRecord, toProofJson, verifyProofSignature, type ProofRecord } from "../../oracles/proof";
import { productDigest, verifyProduct } from "../../oracles/verify/compute";
import { scoreBeacon, type BeaconWitness } from "../../oracles/verify/coverage";
import { verifyReadings } from "../../oracles/verify/energy";
import { verifyTrack, type EpochWindow } from "../../oracles/verify/mapping";
import { type VerifyResult } from "../../oracles/verify/result";
import { STORAGE_CHUNK_SIZE, buildStorageTree, chunkLeaves, verifyStorageResponse } from "../../oracles/verify/storage";

const SEED = ethers.id("epoch-seed-3");
const EPOCH_LEN = 3_600;
const windowOf = (epoch: number): EpochWindow => ({
  start: 1_800_000_000 + epoch * EPOCH_LEN,
  end: 1_800_000_000 + (epoch + 1) * EPOCH_LEN,
});
const ALL_CLASSES = Object.values(ResourceClass);

/** Round-trips a record through its JSON wire form, as the ingest stage receives it. */
const overTheWire = (r: ProofRecord): ProofRecord => parseProofRecord(JSON.parse(JSON.stringify(toProofJson(r))));

type ByKind<K extends ProofKind> = Extract<ProofRecord, { kind: K }>;
const ofKind = <K extends ProofKind>(proofs: readonly ProofRecord[], kind: K): ByKind<K>[] =>
  proofs.filter((p): p is ByKind<K> => p.kind === kind);

const groupByDevice = <T extends ProofRecord>(proofs: readonly T[]): Map<string, T[]> => {
  const m = new Map<string, T[]>();
  for (const p of proofs) m.set(p.device, [...(m.get(p.device) ?? []), p]);
  return m;
};

/** Runs the class verifiers of oracles/verify over one epoch's proofs; results per device address. */
function verifyEpoch(
  fleet: Fleet,
  proofs: readonly ProofRecord[],
  seed: string,
  window: EpochWindow,
): Map<string, VerifyResult[]> {
  const byAddress = new Map(fleet.members.map((m) => [m.device.address, m.device]));
  const results = new Map<string, VerifyResult[]>();
  const add = (device: string, r: VerifyResult) => results.set(device, [...(results.get(device) ?? []), r]);

  for (const [device, answers] of groupByDevice(ofKind(proofs, ProofKind.StorageChallenge))) {
    const d = byAddress.get(device)!;
    const commitment = d.storageCommitment()!;
    add(
      device,
      verifyStorageResponse({
        seed,
        device,
        ...commitment,
        capacityGiB: BigInt(d.capacity),
        responses: answers.map((a) => ({
          index: a.payload.chunkIndex,
          chunk: ethers.getBytes(a.payload.chunk),
          path: a.payload.path,
        })),
      }),
    );
  }
  for (const p of ofKind(proofs, ProofKind.ComputeChallenge)) {
    const { n, result } = p.payload;
    const c = Array.from({ length: n }, (_, i) => result.slice(i * n, (i + 1) * n).map(BigInt));
    expect(p.payload.resultHash).to.equal(productDigest(c));
    add(p.device, verifyProduct({ seed, device: p.device, n, c }));
  }
  const witnesses = ofKind(proofs, ProofKind.CoverageWitness);
  for (const b of ofKind(proofs, ProofKind.CoverageBeacon)) {
    const heard: BeaconWitness[] = witnesses
      .filter((w) => w.payload.beaconId === b.payload.beaconId && w.payload.beaconDevice === b.device)
      .map((w) => ({ witness: w.device, cell: w.payload.cell, rssiDbm: w.payload.rssiDbm, snrDb: w.payload.snrDb }));
    if (heard.length === 0) continue;
    add(b.device, scoreBeacon({ beaconer: b.device, cell: b.payload.cell, txPowerDbm: b.payload.txPowerDbm }, heard));
  }
  for (const [device, captures] of groupByDevice(ofKind(proofs, ProofKind.MappingCapture))) {
    add(
      device,
      verifyTrack(
        captures.map((c) => c.payload),
        window.end,
        window,
      ),
    );
  }
  for (const [device, readings] of groupByDevice(ofKind(proofs, ProofKind.EnergyReading))) {
    const d = byAddress.get(device)!;
    add(
      device,
      verifyReadings(
        readings.map((r) => ({ at: r.payload.readAt, whCumulative: BigInt(r.payload.meterWh) })),
        null,
        d.capacity,
        window.end,
      ),
    );
  }
  return results;
}

describe("oracles/agent", () => {
  describe("honest devices", () => {
    const fleet = createFleet({ count: 60, seed: "honest-fleet", proportions: { honest: 1 } });
    const window = windowOf(3);
    const proofs = fleetProofs(fleet, 3, SEED, window);

    it("send proofs of every kind, each parseable over the wire and signed by its device", () => {
      const kinds = new Set(proofs.map((p) => p.kind));
      for (const k of [
        ProofKind.Heartbeat,
        ProofKind.CoverageBeacon,
        ProofKind.CoverageWitness,
        ProofKind.StorageChallenge,
        ProofKind.ComputeChallenge,
        ProofKind.MappingCapture,
        ProofKind.EnergyReading,
      ]) {
        expect(kinds.has(k), `kind ${k}`).to.equal(true);
      }
      for (const p of proofs) {
        const wire = overTheWire(p);
        expect(wire).to.deep.equal(p);
        expect(verifyProofSignature(wire, fleet.domain)).to.equal(true);
        expect(p.timestamp >= BigInt(window.start) && p.timestamp < BigInt(window.end)).to.equal(true);
      }
      expect(new Set(fleet.members.map((m) => m.device.address)).size).to.equal(60);
      expect(groupByDevice(ofKind(proofs, ProofKind.Heartbeat)).size).to.equal(60);
    });

    it("pass the class verifier of every class", () => {
      const results = verifyEpoch(fleet, proofs, SEED, window);
      const classesVerified = new Set<ResourceClass>();
      for (const m of fleet.members) {
        const rs = results.get(m.device.address) ?? [];
        if (m.device.resourceClass !== ResourceClass.Coverage)
          expect(rs.length, `class ${m.device.resourceClass}`).to.be.greaterThan(0);
        for (const r of rs) expect(r, `device ${m.index} class ${m.device.resourceClass}`).to.include({ ok: true });
        if (rs.length > 0) classesVerified.add(m.device.resourceClass);
      }
      expect([...classesVerified].sort()).to.deep.equal(ALL_CLASSES);
    });

    it("use strictly increasing nonces across epochs", () => {
      const next = fleetProofs(fleet, 4, ethers.id("epoch-seed-4"), windowOf(4));
      for (const [device, mine] of groupByDevice([...proofs, ...next])) {
        for (let i = 1; i < mine.length; i++) expect(mine[i].nonce > mine[i - 1].nonce, device).to.equal(true);
      }
    });
  });

  describe("storage data", () => {
    it("periodicStore has the root and paths of buildStorageTree over the expanded data", () => {
      for (const m of [1, 2, 5, 6]) {
        const pool = pseudoRandomChunks(`pool-${m}`, 4);
        const store = periodicStore(pool, 4 * m);
        const data = new Uint8Array(4 * m * STORAGE_CHUNK_SIZE);
        for (let i = 0; i < 4 * m; i++) data.set(pool[i % 4], i * STORAGE_CHUNK_SIZE);
        const tree = buildStorageTree(chunkLeaves(data));
        expect(store.dataRoot).to.equal(tree.root);
        for (let i = 0; i < 4 * m; i++) expect(store.proof(i)).to.deep.equal(tree.proof(i));
      }
    });

    it("a real folder is read deterministically and its answers verify", () => {
      const dir = mkdtempSync(join(tmpdir(), "meshwork-agent-"));
      try {
        mkdirSync(join(dir, "b"));
        writeFileSync(join(dir, "b", "two.bin"), pseudoRandomChunks("two", 3)[2].subarray(0, 3000));
        writeFileSync(join(dir, "a.txt"), "hello ".repeat(2000));
        const store = folderStore(dir);
        expect(store.chunkCount).to.equal(Math.ceil((12_000 + 3000) / STORAGE_CHUNK_SIZE));
        expect(folderStore(dir).dataRoot).to.equal(store.dataRoot);
        const device = new Device({
          wallet: walletFromSeed("folder"),
          resourceClass: ResourceClass.Storage,
          capacity: 1,
          location: "8c283082a1b5dff",
          storage: store,
        });
        const proofs = device.proofs({
          epoch: 1n,
          seed: SEED,
          window: windowOf(1),
          domain: createFleet({ count: 0, seed: "x", proportions: { honest: 1 } }).domain,
        });
        const answers = ofKind(proofs, ProofKind.StorageChallenge);
        expect(answers.length).to.equal(store.chunkCount);
        const res = verifyStorageResponse({
          seed: SEED,
          device: device.address,
          dataRoot: store.dataRoot,
          chunkCount: store.chunkCount,
          capacityGiB: 1n,
          responses: answers.map((a) => ({
            index: a.payload.chunkIndex,
            chunk: ethers.getBytes(a.payload.chunk),
            path: a.payload.path,
          })),
        });
        // Capacity 1 GiB exceeds 4 chunks: the answers themselves are right, only the claim is unbacked.
        expect(res).to.deep.include({ ok: false, fault: null });
        expect((res as { reason: string }).reason).to.match(/exceeds/);
        expect(memoryStore(new Uint8Array([1])).chunkCount).to.equal(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("dishonest behaviours", () => {
    it("offline devices send nothing", () => {
      const fleet = createFleet({ count: 12, seed: "off", proportions: { offline: 1 } });
      expect(fleetProofs(fleet, 0, SEED, windowOf(0))).to.have.length(0);
    });

    it("flaky devices skip some epochs, deterministically", () => {
      const fleet = createFleet({
        count: 6,
        seed: "flaky",
        proportions: { flaky: 1 },
        classes: [ResourceClass.Energy],
      });
      const sent = Array.from({ length: 30 }, (_, e) => groupByDevice(fleetProofs(fleet, e, SEED, windowOf(e))).size);
      expect(sent.some((s) => s < 6)).to.equal(true);
      expect(sent.some((s) => s > 0)).to.equal(true);
      expect(sent.reduce((a, b) => a + b, 0)).to.be.within(60, 170);
      expect(groupByDevice(fleetProofs(fleet, 7, SEED, windowOf(7))).size).to.equal(sent[7]);
    });

    it("forging devices are caught by the signature check", () => {
      const fleet = createFleet({ count: 12, seed: "forge", proportions: { forging: 1 } });
      const proofs = fleetProofs(fleet, 1, SEED, windowOf(1));
      expect(proofs.length).to.be.greaterThan(12);
      for (const p of proofs) {
        const wire = overTheWire(p); // well-formed ...
        expect(fleet.members.some((m) => m.device.address === wire.device)).to.equal(true);
        expect(verifyProofSignature(wire, fleet.domain)).to.equal(false); // ... but not the device's signature
      }
    });

    it("replaying devices reuse nonces already seen", () => {
      const fleet = createFleet({ count: 6, seed: "replay", proportions: { replaying: 1 } });
      const key = (p: ProofRecord) => `${p.device}/${p.nonce}`;
      const e0 = fleetProofs(fleet, 0, SEED, windowOf(0));
      const e1 = fleetProofs(fleet, 1, ethers.id("s1"), windowOf(1));
      // Epoch 0: a nonce used twice within the epoch.
      expect(new Set(e0.map(key)).size).to.equal(e0.length - 6);
      // Epoch 1: last epoch's heartbeat re-sent verbatim, valid signature, nonce seen before.
      const seen = new Map(e0.map((p) => [key(p), p]));
      const replayed = e1.filter((p) => seen.has(key(p)));
      expect(replayed).to.have.length(6);
      for (const p of replayed) {
        expect(verifyProofSignature(p, fleet.domain)).to.equal(true);
        expect(p.epoch).to.equal(0n);
      }
    });

    it("lazy storage devices fail the storage check; lazy compute devices fail Freivalds", () => {
      const fleet = createFleet({
        count: 6,
        seed: "lazy",
        proportions: { lazy: 1 },
        classes: [ResourceClass.Storage, ResourceClass.ComputeGpu],
      });
      const window = windowOf(2);
      const proofs = fleetProofs(fleet, 2, SEED, window);
      const results = verifyEpoch(fleet, proofs, SEED, window);
      for (const m of fleet.members) {
        const rs = results.get(m.device.address)!;
        expect(rs).to.have.length(1);
        expect(rs[0].ok, `device ${m.index}`).to.equal(false);
        expect(rs[0]).to.include({ fault: FaultKind.InvalidProof });
        if (m.device.resourceClass === ResourceClass.Storage) {
          expect((rs[0] as { reason: string }).reason).to.match(/unanswered/);
        }
      }
    });

    it("spoofing devices are caught with LocationSpoofing by the coverage and mapping verifiers", () => {
      // Few spoofers among many honest devices: a beacon half of whose witnesses are spoofers is itself judged a
      // spoofer by scoreBeacon (impossible geometry), so a dense spoofing ring could frame an honest beaconer.
      const coverage = createFleet({
        count: 30,
        seed: "spoof-c",
        proportions: { honest: 14, spoofing: 1 },
        classes: [ResourceClass.Coverage],
      });
      const mapping = createFleet({
        count: 6,
        seed: "spoof-m",
        proportions: { honest: 1, spoofing: 1 },
        classes: [ResourceClass.Mapping],
      });
      const window = windowOf(5);
      let spoofCaught = 0;
      for (const fleet of [coverage, mapping]) {
        const results = verifyEpoch(fleet, fleetProofs(fleet, 5, SEED, window), SEED, window);
        for (const m of fleet.members) {
          const rs = results.get(m.device.address) ?? [];
          expect(rs.length, `device ${m.index}`).to.be.greaterThan(0);
          if (m.behaviour === "honest") {
            for (const r of rs)
              expect(r, `honest ${m.index} ${"reason" in r ? r.reason : ""}`).to.include({ ok: true });
          } else {
            for (const r of rs)
              expect(r, `spoofer ${m.index}`).to.include({ ok: false, fault: FaultKind.LocationSpoofing });
            spoofCaught++;
          }
        }
      }
      expect(spoofCaught).to.equal(5);
    });
  });

  describe("fleet", () => {
    it("is deterministic in its seed", () => {
      const opts = {
        count: 30,
        seed: "same",
        proportions: { honest: 2, lazy: 1, spoofing: 1, replaying: 1, forging: 1 },
      };
      const a = createFleet(opts);
      const b = createFleet(opts);
      expect(a.members.map((m) => [m.device.address, m.behaviour, m.device.location])).to.deep.equal(
        b.members.map((m) => [m.device.address, m.behaviour, m.device.location]),
      );
      const json = (f: Fleet) => JSON.stringify(fleetProofs(f, 9, SEED, windowOf(9)).map(toProofJson));
      expect(json(a)).to.equal(json(b));
      expect(createFleet({ ...opts, seed: "other" }).members[0].device.address).to.not.equal(
        a.members[0].device.address,
      );
    });

    it("respects the proportions", () => {
      const proportions = {
        honest: 0.55,
        offline: 0.1,
        flaky: 0.1,
        lazy: 0.05,
        forging: 0.05,
        replaying: 0.05,
        spoofing: 0.1,
      };
      expect(behaviourCounts(1000, proportions)).to.deep.equal({
        honest: 550,
        offline: 100,
        flaky: 100,
        lazy: 50,
        forging: 50,
        replaying: 50,
        spoofing: 100,
      });
      const counts = behaviourCounts(7, { honest: 1, offline: 1, flaky: 1 });
      expect(Object.values(counts).reduce((s, c) => s + c, 0)).to.equal(7);
      const fleet = createFleet({ count: 200, seed: "props", proportions: { honest: 3, offline: 1 } });
      expect(fleet.members.filter((m) => m.behaviour === "offline")).to.have.length(50);
      expect(BEHAVIOURS).to.have.length(7);
    });

    it("generates an epoch for 2,000 devices", function () {
      this.timeout(600_000);
      const proportions = {
        honest: 0.7,
        offline: 0.05,
        flaky: 0.05,
        lazy: 0.05,
        forging: 0.05,
        replaying: 0.05,
        spoofing: 0.05,
      };
      let t = Date.now();
      const fleet = createFleet({ count: 2_000, seed: "big", proportions });
      const created = Date.now() - t;
      t = Date.now();
      const proofs = fleetProofs(fleet, 1, SEED, windowOf(1));
      const generated = Date.now() - t;
      const byKind = new Map<number, number>();
      for (const p of proofs) byKind.set(p.kind, (byKind.get(p.kind) ?? 0) + 1);
      console.log(
        `      2,000 devices: fleet created in ${created} ms; ${proofs.length} proofs in ${generated} ms ` +
          `(${((generated * 1000) / proofs.length).toFixed(0)} us/proof); by kind ${JSON.stringify(Object.fromEntries(byKind))}`,
      );
      expect(proofs.length).to.be.greaterThan(2_000);
    });
  });
});
