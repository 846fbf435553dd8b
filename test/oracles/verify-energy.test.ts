import { expect } from "chai";

import { FaultKind } from "../../sdk/enums";
import { ENERGY_PARAMS, maxDeliveryWh, verifyReadings, type MeterReading } from "../../oracles/verify/energy";
import type { VerifyResult } from "../../oracles/verify/result";

const NOW = 10_000;
const r = (at: number, wh: bigint): MeterReading => ({ at, whCumulative: wh });

interface Case {
  name: string;
  readings: MeterReading[];
  previous?: MeterReading | null;
  capacityKw?: number;
  now?: number;
  ok: boolean;
  workUnits?: bigint;
  fault?: FaultKind | null;
  reason?: RegExp;
}

// 5 kW for one hour with 5% tolerance: 5250 Wh.
const cases: Case[] = [
  // honest
  { name: "steady delivery from the previous epoch's last reading", previous: r(0, 1_000n), readings: [r(900, 2_000n), r(1_800, 3_000n), r(3_600, 5_000n)], ok: true, workUnits: 4_000n },
  { name: "new meter: first reading is the baseline", readings: [r(0, 100n), r(3_600, 5_100n)], ok: true, workUnits: 5_000n },
  { name: "single reading of a new meter delivers nothing", readings: [r(100, 7n)], ok: true, workUnits: 0n },
  { name: "flat counter: nothing delivered", previous: r(0, 500n), readings: [r(600, 500n), r(1_200, 500n)], ok: true, workUnits: 0n },
  { name: "fractional capacity (0.5 kW)", readings: [r(0, 0n), r(3_600, 525n)], capacityKw: 0.5, ok: true, workUnits: 525n },
  // cheating
  { name: "counter decreases", readings: [r(0, 1_000n), r(600, 900n)], ok: false, fault: FaultKind.InvalidProof, reason: /decreased/ },
  { name: "counter below the previous epoch's", previous: r(0, 2_000n), readings: [r(600, 1_999n)], ok: false, fault: FaultKind.InvalidProof, reason: /decreased/ },
  { name: "rate far above capacity", readings: [r(0, 0n), r(60, 1_000n)], ok: false, fault: FaultKind.InvalidProof, reason: /implausible rate/ },
  { name: "rate above capacity across the epoch boundary", previous: r(0, 0n), readings: [r(3_600, 6_000n)], ok: false, fault: FaultKind.InvalidProof, reason: /implausible rate/ },
  { name: "equal timestamps", readings: [r(600, 0n), r(600, 10n)], ok: false, fault: null, reason: /not after/ },
  { name: "timestamps go backwards", readings: [r(600, 0n), r(300, 0n)], ok: false, fault: null, reason: /not after/ },
  { name: "reading not after previous", previous: r(600, 0n), readings: [r(600, 0n)], ok: false, fault: null, reason: /not after/ },
  { name: "reading in the future", readings: [r(0, 0n), r(NOW + 3_600, 10n)], ok: false, fault: null, reason: /future/ },
  // boundaries
  { name: "rate exactly at capacity + 5% passes", readings: [r(0, 0n), r(3_600, 5_250n)], ok: true, workUnits: 5_250n },
  { name: "1 Wh beyond capacity + 5% fails", readings: [r(0, 0n), r(3_600, 5_251n)], ok: false, fault: FaultKind.InvalidProof },
  { name: "1 W meter: 1 Wh/h passes", readings: [r(0, 0n), r(3_600, 1n)], capacityKw: 0.001, ok: true, workUnits: 1n },
  { name: "1 W meter: 2 Wh/h fails", readings: [r(0, 0n), r(3_600, 2n)], capacityKw: 0.001, ok: false, fault: FaultKind.InvalidProof },
  { name: "timestamp = now + skew passes", readings: [r(0, 0n), r(NOW + 120, 1n)], ok: true },
  { name: "timestamp = now + skew + 1 fails", readings: [r(0, 0n), r(NOW + 121, 1n)], ok: false, fault: null, reason: /future/ },
  // invalid data
  { name: "no readings", readings: [], ok: false, fault: null, reason: /no readings/ },
  { name: "zero capacity", readings: [r(0, 0n)], capacityKw: 0, ok: false, fault: null, reason: /capacity/ },
  { name: "NaN capacity", readings: [r(0, 0n)], capacityKw: NaN, ok: false, fault: null, reason: /capacity/ },
  { name: "negative capacity", readings: [r(0, 0n)], capacityKw: -5, ok: false, fault: null, reason: /capacity/ },
  { name: "NaN now", readings: [r(0, 0n)], now: NaN, ok: false, fault: null, reason: /now/ },
  { name: "NaN timestamp", readings: [r(NaN, 0n)], ok: false, fault: null, reason: /unix seconds/ },
  { name: "fractional timestamp", readings: [r(1.5, 0n)], ok: false, fault: null, reason: /unix seconds/ },
  { name: "negative timestamp", readings: [r(-1, 0n)], ok: false, fault: null, reason: /unix seconds/ },
  { name: "negative counter", readings: [r(0, -1n)], ok: false, fault: null, reason: /counter/ },
  { name: "counter as a number (bad JSON decode)", readings: [{ at: 0, whCumulative: 5 as unknown as bigint }], ok: false, fault: null, reason: /counter/ },
  { name: "malformed previous reading", previous: r(NaN, 0n), readings: [r(0, 0n)], ok: false, fault: null, reason: /previous/ },
];

describe("verify/energy: verifyReadings", () => {
  for (const c of cases) {
    it(c.name, () => {
      let res: VerifyResult | undefined;
      expect(() => (res = verifyReadings(c.readings, c.previous ?? null, c.capacityKw ?? 5, c.now ?? NOW, ENERGY_PARAMS))).not.to.throw();
      if (c.ok) {
        expect(res!.ok, res!.ok ? "" : res!.reason).to.equal(true);
        if (res!.ok) {
          expect(res!.quality).to.equal(1);
          if (c.workUnits !== undefined) expect(res!.workUnits).to.equal(c.workUnits);
        }
      } else {
        expect(res!.ok).to.equal(false);
        if (!res!.ok) {
          expect(res!.fault).to.equal(c.fault ?? null);
          if (c.reason) expect(res!.reason).to.match(c.reason);
        }
      }
    });
  }

  it("maxDeliveryWh agrees with the rate rule", () => {
    expect(maxDeliveryWh(5, 3_600)).to.equal(5_250n);
    expect(maxDeliveryWh(0.001, 3_600)).to.equal(1n);
    expect(maxDeliveryWh(5, 900)).to.equal(1_312n);
  });
});
