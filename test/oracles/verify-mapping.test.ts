import { expect } from "chai";
import { latLngToCell } from "h3-js";

import { FaultKind } from "../../sdk/enums";
import { MAPPING_PARAMS, distanceM, verifyTrack, type Capture, type MappingParams } from "../../oracles/verify/mapping";
import type { VerifyResult } from "../../oracles/verify/result";

const LAT = 37.7749;
const LNG = -122.4194;
const WINDOW = { start: 1_000, end: 5_000 };
const NOW = 3_000;
/** ~11.1 m per 0.0001 degree of latitude. */
const cap = (i: number, at: number, dLat: number, over: Partial<Capture> = {}): Capture => ({
  imageHash: `0x${i.toString(16).padStart(64, "0")}`,
  capturedAt: at,
  lat: LAT + dLat,
  lng: LNG,
  ...over,
});
/** n captures every `gap` s, each `step` degrees of latitude north of the last (0.00018 deg ~ 20 m). */
const drive = (n: number, gap = 2, step = 0.00018, t0 = 1_000): Capture[] =>
  Array.from({ length: n }, (_, i) => cap(i, t0 + i * gap, i * step));

const A = cap(0, 2_000, 0);
const B = cap(1, 2_010, 0.005); // ~556 m north, 10 s later
const AB = distanceM(A, B);

interface Case {
  name: string;
  captures: Capture[];
  now?: number;
  window?: { start: number; end: number };
  params?: Partial<MappingParams>;
  ok: boolean;
  fault?: FaultKind | null;
  reason?: RegExp;
  workUnits?: bigint;
  quality?: number;
}

const cells = (cs: Capture[]): bigint => BigInt(new Set(cs.map((c) => latLngToCell(c.lat, c.lng, 9))).size);
const longDrive = drive(100); // ~2 km at 10 m/s

const cases: Case[] = [
  // honest
  { name: "steady drive at 10 m/s", captures: longDrive, ok: true, workUnits: cells(longDrive), quality: 1 },
  { name: "single capture", captures: [A], ok: true, workUnits: 1n, quality: 1 },
  { name: "parked device earns one cell however many images", captures: drive(50, 2, 0), ok: true, workUnits: 1n },
  { name: "irregular cadence lowers quality", captures: [cap(0, 1_000, 0), cap(1, 1_001, 0), cap(2, 1_010, 0)], ok: true, quality: 1 / 1.8 },
  { name: "same-second pair 50 m apart (1 s floor)", captures: [cap(0, 2_000, 0), cap(1, 2_000, 0.00045)], ok: true },
  // cheating
  { name: "teleport: 556 m in 1 s", captures: [A, { ...B, capturedAt: 2_001 }], ok: false, fault: FaultKind.LocationSpoofing, reason: /teleport/ },
  { name: "teleport: same-second pair 70 m apart", captures: [cap(0, 2_000, 0), cap(1, 2_000, 0.00063)], ok: false, fault: FaultKind.LocationSpoofing },
  { name: "duplicate imageHash", captures: [A, { ...B, imageHash: A.imageHash }], ok: false, fault: FaultKind.InvalidProof, reason: /duplicate/ },
  { name: "duplicate imageHash differing in case", captures: [cap(0, 2_000, 0, { imageHash: "0xABCD" }), cap(1, 2_010, 0, { imageHash: "0xabcd" })], ok: false, fault: FaultKind.InvalidProof },
  { name: "stale capture before the epoch", captures: [cap(0, 999, 0)], ok: false, fault: null, reason: /outside epoch/ },
  { name: "capture in the future beyond skew", captures: [cap(0, NOW + 500, 0)], ok: false, fault: null, reason: /future/ },
  { name: "captures not sorted", captures: [B, A], ok: false, fault: null, reason: /not sorted/ },
  // boundaries
  { name: "speed exactly at the limit passes", captures: [A, B], params: { maxSpeedMps: AB / 10 }, ok: true },
  { name: "speed just over the limit fails", captures: [A, B], params: { maxSpeedMps: (AB / 10) * (1 - 1e-9) }, ok: false, fault: FaultKind.LocationSpoofing },
  { name: "capturedAt = now + skew passes", captures: [cap(0, NOW + 120, 0)], ok: true },
  { name: "capturedAt = now + skew + 1 fails", captures: [cap(0, NOW + 121, 0)], ok: false, fault: null, reason: /future/ },
  { name: "capturedAt = epoch start passes", captures: [cap(0, 1_000, 0)], ok: true },
  { name: "capturedAt = epoch end fails (end exclusive)", captures: [cap(0, 5_000, 0)], now: 5_000, ok: false, fault: null, reason: /outside epoch/ },
  { name: "capturedAt = epoch end - 1 passes", captures: [cap(0, 4_999, 0)], now: 5_000, ok: true },
  { name: "lat exactly 90 passes", captures: [cap(0, 2_000, 0, { lat: 90 })], ok: true },
  // invalid data
  { name: "no captures", captures: [], ok: false, fault: null, reason: /no captures/ },
  { name: "NaN latitude", captures: [cap(0, 2_000, 0, { lat: NaN })], ok: false, fault: null, reason: /latitude/ },
  { name: "latitude 90.0001", captures: [cap(0, 2_000, 0, { lat: 90.0001 })], ok: false, fault: null, reason: /latitude/ },
  { name: "longitude -181", captures: [cap(0, 2_000, 0, { lng: -181 })], ok: false, fault: null, reason: /longitude/ },
  { name: "NaN capturedAt", captures: [cap(0, NaN, 0)], ok: false, fault: null, reason: /capturedAt/ },
  { name: "empty imageHash", captures: [cap(0, 2_000, 0, { imageHash: "" })], ok: false, fault: null, reason: /imageHash/ },
  { name: "NaN now", captures: [A], now: NaN, ok: false, fault: null, reason: /now/ },
  { name: "empty window", captures: [A], window: { start: 5_000, end: 5_000 }, ok: false, fault: null, reason: /window/ },
];

describe("verify/mapping: verifyTrack", () => {
  for (const c of cases) {
    it(c.name, () => {
      let r: VerifyResult | undefined;
      expect(() => (r = verifyTrack(c.captures, c.now ?? NOW, c.window ?? WINDOW, { ...MAPPING_PARAMS, ...c.params }))).not.to.throw();
      if (c.ok) {
        expect(r!.ok, r!.ok ? "" : r!.reason).to.equal(true);
        if (r!.ok && c.workUnits !== undefined) expect(r!.workUnits).to.equal(c.workUnits);
        if (r!.ok && c.quality !== undefined) expect(r!.quality).to.be.closeTo(c.quality, 1e-9);
      } else {
        expect(r!.ok).to.equal(false);
        if (!r!.ok) {
          expect(r!.fault).to.equal(c.fault ?? null);
          if (c.reason) expect(r!.reason).to.match(c.reason);
        }
      }
    });
  }

  it("a 2 km drive covers several res-9 cells", () => {
    const r = verifyTrack(longDrive, NOW, WINDOW);
    expect(r.ok && r.workUnits > 1n).to.equal(true);
  });
});
