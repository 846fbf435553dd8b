import { expect } from "chai";
import { latLngToCell } from "h3-js";

import { FaultKind } from "../../sdk/enums";
import {
  COVERAGE_PARAMS,
  cellDistanceM,
  maxPlausibleRssiDbm,
  scoreBeacon,
  verifyWitness,
  type BeaconWitness,
  type CoverageParams,
  type WitnessInput,
} from "../../oracles/verify/coverage";
import type { VerifyResult } from "../../oracles/verify/result";

const LAT = 37.7749;
const LNG = -122.4194;
/** A res-12 cell about `dLat` degrees north (0.009 deg ~ 1 km) of the beaconer. */
const cellAt = (dLat: number, dLng = 0): string => latLngToCell(LAT + dLat, LNG + dLng, 12);
const BEACON_CELL = cellAt(0);
const KM1 = cellAt(0.009);
const KM3 = cellAt(0.027);
const KM1_DIST = cellDistanceM(BEACON_CELL, KM1);

const witness = (over: Partial<WitnessInput> = {}): WitnessInput => ({
  beaconerCell: BEACON_CELL,
  txPowerDbm: 27,
  witnessCell: KM1,
  rssiDbm: -100,
  snrDb: 5,
  ...over,
});
const bound1km = maxPlausibleRssiDbm(KM1_DIST, 27);

interface Case {
  name: string;
  input: WitnessInput;
  params?: Partial<CoverageParams>;
  ok: boolean;
  fault?: FaultKind | null;
  reason?: RegExp;
  quality?: number;
}

const run = (c: Case): VerifyResult => verifyWitness(c.input, { ...COVERAGE_PARAMS, ...c.params });

function expectCase(r: VerifyResult, c: Pick<Case, "ok" | "fault" | "reason" | "quality">): void {
  if (c.ok) {
    expect(r.ok, r.ok ? "" : r.reason).to.equal(true);
    if (r.ok && c.quality !== undefined) expect(r.quality).to.be.closeTo(c.quality, 1e-9);
  } else {
    expect(r.ok).to.equal(false);
    if (!r.ok) {
      expect(r.fault).to.equal(c.fault ?? null);
      if (c.reason) expect(r.reason).to.match(c.reason);
    }
  }
}

describe("verify/coverage: verifyWitness", () => {
  const cases: Case[] = [
    // honest
    { name: "1 km, typical urban RSSI", input: witness(), ok: true, quality: 1 },
    { name: "~49 km, weak signal", input: witness({ witnessCell: cellAt(0.44), rssiDbm: -130, snrDb: -15 }), ok: true, quality: 1 },
    { name: "RSSI at free-space bound exactly: quality 1", input: witness({ rssiDbm: bound1km - 8 }), ok: true, quality: 1 },
    { name: "RSSI halfway into the margin: quality 0.75", input: witness({ rssiDbm: bound1km - 4 }), ok: true, quality: 0.75 },
    // cheating / implausible
    { name: "same cell as beaconer", input: witness({ witnessCell: BEACON_CELL }), ok: false, fault: null, reason: /too close/ },
    { name: "~90 m away: co-located", input: witness({ witnessCell: cellAt(0.0009) }), ok: false, fault: null, reason: /too close/ },
    { name: "~60 km away: out of range", input: witness({ witnessCell: cellAt(0.54), rssiDbm: -130 }), ok: false, fault: FaultKind.LocationSpoofing, reason: /out of range/ },
    { name: "RSSI far stronger than free space", input: witness({ rssiDbm: -40 }), ok: false, fault: FaultKind.LocationSpoofing, reason: /free space/ },
    { name: "RSSI below sensitivity", input: witness({ rssiDbm: -150 }), ok: false, fault: null, reason: /sensitivity/ },
    { name: "SNR too high", input: witness({ snrDb: 30 }), ok: false, fault: null, reason: /SNR/ },
    { name: "SNR too low", input: witness({ snrDb: -25 }), ok: false, fault: null, reason: /SNR/ },
    // boundaries
    { name: "RSSI exactly at the limit passes (quality 0.5)", input: witness({ rssiDbm: bound1km }), ok: true, quality: 0.5 },
    { name: "RSSI 0.01 dB beyond the limit fails", input: witness({ rssiDbm: bound1km + 0.01 }), ok: false, fault: FaultKind.LocationSpoofing },
    { name: "distance exactly at the minimum passes", input: witness(), params: { minWitnessDistanceM: KM1_DIST }, ok: true },
    { name: "distance just under the minimum fails", input: witness(), params: { minWitnessDistanceM: KM1_DIST + 1e-6 }, ok: false, fault: null },
    { name: "distance exactly at the maximum passes", input: witness(), params: { maxWitnessDistanceM: KM1_DIST }, ok: true },
    { name: "distance just over the maximum fails", input: witness(), params: { maxWitnessDistanceM: KM1_DIST - 1e-6 }, ok: false, fault: FaultKind.LocationSpoofing },
    { name: "SNR exactly at max passes", input: witness({ snrDb: 15 }), ok: true },
    { name: "SNR exactly at min passes", input: witness({ snrDb: -20 }), ok: true },
    { name: "SNR just over max fails", input: witness({ snrDb: 15.01 }), ok: false, fault: null },
    { name: "RSSI exactly at sensitivity passes", input: witness({ rssiDbm: -140 }), ok: true },
    { name: "tx power exactly at max passes", input: witness({ txPowerDbm: 36 }), ok: true },
    { name: "tx power just over max fails", input: witness({ txPowerDbm: 36.1 }), ok: false, fault: null, reason: /tx power/ },
    // invalid data
    { name: "garbage beaconer cell", input: witness({ beaconerCell: "zz" }), ok: false, fault: null, reason: /invalid beaconer cell/ },
    { name: "empty witness cell", input: witness({ witnessCell: "" }), ok: false, fault: null, reason: /invalid witness cell/ },
    { name: "non-hex witness cell", input: witness({ witnessCell: "8c283082800b3fg" }), ok: false, fault: null, reason: /invalid witness cell/ },
    { name: "NaN RSSI", input: witness({ rssiDbm: NaN }), ok: false, fault: null, reason: /RSSI/ },
    { name: "NaN SNR", input: witness({ snrDb: NaN }), ok: false, fault: null, reason: /SNR/ },
    { name: "infinite tx power", input: witness({ txPowerDbm: Infinity }), ok: false, fault: null, reason: /tx power/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let r: VerifyResult | undefined;
      expect(() => (r = run(c))).not.to.throw();
      expectCase(r!, c);
      if (r!.ok) expect(r!.workUnits).to.equal(1n);
    });
  }

  it("a non-string cell is rejected, not thrown", () => {
    const r = verifyWitness({ ...witness(), witnessCell: 42 as unknown as string });
    expect(r).to.deep.include({ ok: false, fault: null });
  });
});

describe("verify/coverage: scoreBeacon", () => {
  const beacon = { beaconer: "b", cell: BEACON_CELL, txPowerDbm: 27 };
  const w = (id: string, cell: string, rssiDbm = -120, snrDb = 0): BeaconWitness => ({ witness: id, cell, rssiDbm, snrDb });
  /** n honest witnesses each in its own cell, 1..n km north. */
  const honest = (n: number): BeaconWitness[] => Array.from({ length: n }, (_, k) => w(`w${k}`, cellAt(0.009 * (k + 1))));

  interface BeaconCase {
    name: string;
    beacon?: typeof beacon;
    witnesses: BeaconWitness[];
    ok: boolean;
    workUnits?: bigint;
    quality?: number;
    fault?: FaultKind | null;
    reason?: RegExp;
  }
  const cases: BeaconCase[] = [
    { name: "3 honest witnesses in distinct cells", witnesses: honest(3), ok: true, workUnits: 3n, quality: 1 },
    { name: "12 honest witnesses capped at 10", witnesses: honest(12), ok: true, workUnits: 10n, quality: 1 },
    { name: "exactly 10 witnesses all count", witnesses: honest(10), ok: true, workUnits: 10n },
    { name: "duplicate reports of one witness count once", witnesses: [...honest(2), honest(1)[0]], ok: true, workUnits: 2n },
    { name: "self-witnessing is ignored", witnesses: [...honest(2), w("b", KM3)], ok: true, workUnits: 2n },
    { name: "2 witnesses sharing a cell: halved quality", witnesses: [w("x", KM1), w("y", KM1)], ok: true, workUnits: 2n, quality: 0.5 },
    { name: "one lying witness among 4 is dropped", witnesses: [...honest(3), w("liar", KM3, -40)], ok: true, workUnits: 3n },
    { name: "3 witnesses all in one cell: spoofing ring", witnesses: [w("x", KM3), w("y", KM3), w("z", KM3)], ok: false, fault: FaultKind.LocationSpoofing, reason: /same cell/ },
    {
      name: "several witnesses hear impossibly strong signals: beaconer spoofs",
      witnesses: [w("x", KM3, -50), w("y", cellAt(0.036), -50), w("z", cellAt(0.045), -50), ...honest(1)],
      ok: false, fault: FaultKind.LocationSpoofing, reason: /impossible geometry/,
    },
    { name: "no witnesses", witnesses: [], ok: false, fault: null, reason: /no witnesses/ },
    { name: "only the beaconer itself", witnesses: [w("b", KM1)], ok: false, fault: null },
    { name: "all witnesses too close", witnesses: [w("x", BEACON_CELL), w("y", cellAt(0.0009))], ok: false, fault: null, reason: /no valid witnesses/ },
    { name: "invalid beacon cell", beacon: { ...beacon, cell: "nope" }, witnesses: honest(3), ok: false, fault: null, reason: /invalid beacon cell/ },
    { name: "NaN tx power", beacon: { ...beacon, txPowerDbm: NaN }, witnesses: honest(3), ok: false, fault: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let r: VerifyResult | undefined;
      expect(() => (r = scoreBeacon(c.beacon ?? beacon, c.witnesses))).not.to.throw();
      expectCase(r!, c);
      if (r!.ok && c.workUnits !== undefined) expect(r!.workUnits).to.equal(c.workUnits);
    });
  }

  it("quality stays in [0, 1] and prefers the best witnesses when capping", () => {
    const ws = [...honest(10), w("edge", cellAt(0.099), maxPlausibleRssiDbm(cellDistanceM(BEACON_CELL, cellAt(0.099)), 27))];
    const r = scoreBeacon(beacon, ws);
    expect(r).to.deep.include({ ok: true, workUnits: 10n, quality: 1 });
  });
});
