import { expect } from "chai";
import { ethers } from "ethers";

import { FaultKind } from "../../sdk/enums";
import {
  COMPUTE_MAX_N,
  COMPUTE_PRIME,
  FREIVALDS_ROUNDS,
  JOB_RECEIPT_TYPES,
  deriveMatrices,
  freivaldsVector,
  multiply,
  productDigest,
  verifyProduct,
  verifyReceipt,
  type ProductVerifyInput,
  type ReceiptVerifyInput,
} from "../../oracles/verify/compute";

const SEED = ethers.id("epoch-7-seed");
const DEVICE = ethers.getAddress("0x00000000000000000000000000000000000000c1");

const copy = (m: readonly (readonly bigint[])[]): bigint[][] => m.map((row) => [...row]);

describe("verify/compute", function () {
  describe("deriveMatrices and multiply", function () {
    it("derives the same 16-bit matrices for the same (seed, device, n) and different ones otherwise", function () {
      const { a, b } = deriveMatrices(SEED, DEVICE, 9);
      expect(a.length).to.equal(9);
      for (const m of [a, b]) for (const row of m) {
        expect(row.length).to.equal(9);
        for (const v of row) expect(v >= 0n && v < 1n << 16n).to.equal(true);
      }
      expect(deriveMatrices(SEED, DEVICE, 9)).to.deep.equal({ a, b });
      expect(a).to.not.deep.equal(b);
      expect(deriveMatrices(ethers.id("other"), DEVICE, 9).a).to.not.deep.equal(a);
      expect(deriveMatrices(SEED, ethers.ZeroAddress, 9).a).to.not.deep.equal(a);
      expect(deriveMatrices(SEED, DEVICE, 8).a[0]).to.not.deep.equal(a[0].slice(0, 8));
      expect(() => deriveMatrices(SEED, DEVICE, 0)).to.throw(RangeError);
    });

    it("matches the first word of the documented derivation", function () {
      const { a } = deriveMatrices(SEED, DEVICE, 4);
      const w = BigInt(ethers.solidityPackedKeccak256(["bytes32", "address", "uint8", "uint256", "uint256"], [SEED, DEVICE, 0, 4, 0]));
      expect(a[0][0]).to.equal(w >> 240n);
      expect(a[3][3]).to.equal(w & 0xffffn);
    });

    it("multiplies by hand and reduces mod p = 2^61 - 1", function () {
      expect(multiply([[1n, 2n], [3n, 4n]], [[5n, 6n], [7n, 8n]])).to.deep.equal([[19n, 22n], [43n, 50n]]);
      const big = COMPUTE_PRIME - 1n; // (-1)·(-1) = 1 mod p
      expect(multiply([[big]], [[big]])).to.deep.equal([[1n]]);
      expect(() => multiply([[1n, 2n]], [[1n]])).to.throw(RangeError);
    });
  });

  describe("verifyProduct", function () {
    const honest = (n: number, seed = SEED): bigint[][] => {
      const { a, b } = deriveMatrices(seed, DEVICE, n);
      return multiply(a, b);
    };
    const input = (c: bigint[][], n: number, over: Partial<ProductVerifyInput> = {}): ProductVerifyInput => ({
      seed: SEED,
      device: DEVICE,
      n,
      c,
      ...over,
    });

    for (const n of [1, 2, 7, 16, 64]) {
      it(`accepts the honest ${n}x${n} product with workUnits = n^3`, function () {
        const res = verifyProduct(input(honest(n), n));
        expect(res).to.deep.equal({ ok: true, workUnits: BigInt(n) ** 3n, quality: 1 });
      });
    }

    it("catches one wrong entry of C over 12 seeds (default rounds and a single round)", function () {
      const n = 32;
      for (let s = 0; s < 12; s++) {
        const seed = ethers.id(`seed-${s}`);
        const c = honest(n, seed);
        const i = s % n;
        const j = (s * 7) % n;
        c[i][j] = (c[i][j] + 1n + BigInt(s)) % COMPUTE_PRIME;
        for (const rounds of [undefined, 1]) {
          const res = verifyProduct(input(c, n, { seed, rounds }));
          expect(res, `seed ${s} rounds ${rounds}`).to.deep.include({ ok: false, fault: FaultKind.InvalidProof });
        }
      }
    });

    it("rejects an honest product for another seed or device", function () {
      const c = honest(16);
      expect(verifyProduct(input(c, 16, { seed: ethers.id("next") }))).to.deep.include({ ok: false, fault: FaultKind.InvalidProof });
      expect(verifyProduct(input(c, 16, { device: ethers.ZeroAddress }))).to.deep.include({ ok: false, fault: FaultKind.InvalidProof });
    });

    it("binds the Freivalds vectors to C (a forger cannot precompute them from the seed)", function () {
      const c = honest(8);
      const d = productDigest(c);
      const forged = copy(c);
      forged[0][0] += 1n;
      expect(productDigest(forged)).to.not.equal(d);
      const r = freivaldsVector(SEED, DEVICE, d, 8, 0);
      expect(r.length).to.equal(8);
      for (const v of r) expect(v >= 0n && v < COMPUTE_PRIME).to.equal(true);
      expect(freivaldsVector(SEED, DEVICE, productDigest(forged), 8, 0)).to.not.deep.equal(r);
      expect(freivaldsVector(SEED, DEVICE, d, 8, 1)).to.not.deep.equal(r);
      expect(freivaldsVector(SEED, DEVICE, d, 8, 0)).to.deep.equal(r);
      expect(FREIVALDS_ROUNDS).to.be.within(1, 64);
    });

    type Edge = { name: string; c: () => unknown; n?: number; over?: Partial<ProductVerifyInput>; fault: FaultKind | null };
    const n = 8;
    const edges: Edge[] = [
      { name: "all-zero C", c: () => Array.from({ length: n }, () => new Array<bigint>(n).fill(0n)), fault: FaultKind.InvalidProof },
      { name: "transposed C", c: () => honest(n).map((row, i) => row.map((_, j) => honest(n)[j][i])), fault: FaultKind.InvalidProof },
      { name: "two rows swapped", c: () => { const c = honest(n); [c[0], c[1]] = [c[1], c[0]]; return c; }, fault: FaultKind.InvalidProof },
      { name: "C + p in one entry (non-canonical)", c: () => { const c = honest(n); c[2][3] += COMPUTE_PRIME; return c; }, fault: FaultKind.InvalidProof },
      { name: "negative entry", c: () => { const c = honest(n); c[2][3] = -1n; return c; }, fault: FaultKind.InvalidProof },
      { name: "number instead of bigint", c: () => { const c: unknown[][] = honest(n); c[0][0] = 1; return c; }, fault: FaultKind.InvalidProof },
      { name: "one row missing", c: () => honest(n).slice(1), fault: FaultKind.InvalidProof },
      { name: "one column missing", c: () => honest(n).map((row) => row.slice(1)), fault: FaultKind.InvalidProof },
      { name: "product for a smaller n", c: () => honest(n - 1), fault: FaultKind.InvalidProof },
      { name: "not an array", c: () => "C", fault: FaultKind.InvalidProof },
      { name: "n = 0", c: () => [], n: 0, fault: null },
      { name: "n above COMPUTE_MAX_N", c: () => [], n: COMPUTE_MAX_N + 1, fault: null },
      { name: "n not an integer", c: () => [], n: 2.5, fault: null },
      { name: "rounds = 0", c: () => honest(n), over: { rounds: 0 }, fault: null },
      { name: "rounds = 65", c: () => honest(n), over: { rounds: 65 }, fault: null },
      { name: "seed not bytes32", c: () => honest(n), over: { seed: "0x01" }, fault: null },
      { name: "device not an address", c: () => honest(n), over: { device: "device" }, fault: null },
    ];
    for (const e of edges) {
      it(`rejects: ${e.name} -> ${e.fault === null ? "no fault" : "InvalidProof"}`, function () {
        const res = verifyProduct({ ...input(e.c() as bigint[][], e.n ?? n), ...e.over });
        expect(res.ok).to.equal(false);
        if (!res.ok) expect(res.fault).to.equal(e.fault);
      });
    }

    it("verifies n = 64 with 20 rounds quickly (O(n^2) per round)", function () {
      const c = honest(64);
      const t = Date.now();
      expect(verifyProduct(input(c, 64, { rounds: 20 })).ok).to.equal(true);
      expect(Date.now() - t).to.be.below(2000);
    });
  });

  describe("verifyReceipt", function () {
    const client = new ethers.Wallet(ethers.id("client-key"));
    const stranger = new ethers.Wallet(ethers.id("stranger-key"));
    const deviceWallet = new ethers.Wallet(ethers.id("device-key"));
    const domain: ethers.TypedDataDomain = {
      name: "Meshwork Marketplace",
      version: "1",
      chainId: 31337n,
      verifyingContract: "0x0000000000000000000000000000000000000abc",
    };
    const receipt = { jobId: ethers.id("job-1"), device: deviceWallet.address, workUnits: 1_000_000n };
    let sig: string;
    let base: ReceiptVerifyInput;

    before(async function () {
      sig = await client.signTypedData(domain, JOB_RECEIPT_TYPES, receipt);
      base = { ...receipt, client: client.address, clientSignature: sig, domain };
    });

    it("accepts a receipt signed by the client, workUnits from the receipt", function () {
      expect(verifyReceipt(base)).to.deep.equal({ ok: true, workUnits: 1_000_000n, quality: 1 });
      expect(verifyReceipt({ ...base, client: client.address.toLowerCase() }).ok).to.equal(true);
    });

    type Case = { name: string; make: () => Promise<ReceiptVerifyInput>; fault: FaultKind | null };
    const cases: Case[] = [
      {
        name: "signed by someone else",
        make: async () => ({ ...base, clientSignature: await stranger.signTypedData(domain, JOB_RECEIPT_TYPES, receipt) }),
        fault: FaultKind.InvalidProof,
      },
      {
        name: "signed by the device itself, claiming the client",
        make: async () => ({ ...base, clientSignature: await deviceWallet.signTypedData(domain, JOB_RECEIPT_TYPES, receipt) }),
        fault: FaultKind.InvalidProof,
      },
      { name: "workUnits inflated after signing", make: async () => ({ ...base, workUnits: 2_000_000n }), fault: FaultKind.InvalidProof },
      { name: "receipt moved to another device", make: async () => ({ ...base, device: stranger.address }), fault: FaultKind.InvalidProof },
      { name: "another jobId", make: async () => ({ ...base, jobId: ethers.id("job-2") }), fault: FaultKind.InvalidProof },
      { name: "another domain (chain id)", make: async () => ({ ...base, domain: { ...domain, chainId: 1n } }), fault: FaultKind.InvalidProof },
      { name: "garbage signature", make: async () => ({ ...base, clientSignature: "0x1234" }), fault: FaultKind.InvalidProof },
      { name: "zero workUnits", make: async () => ({ ...base, workUnits: 0n }), fault: null },
      { name: "client == device", make: async () => ({ ...base, client: deviceWallet.address }), fault: null },
      { name: "jobId not bytes32", make: async () => ({ ...base, jobId: "0x01" }), fault: null },
      { name: "client not an address", make: async () => ({ ...base, client: "client" }), fault: null },
    ];
    for (const c of cases) {
      it(`rejects: ${c.name} -> ${c.fault === null ? "no fault" : "InvalidProof"}`, async function () {
        const res = verifyReceipt(await c.make());
        expect(res.ok).to.equal(false);
        if (!res.ok) expect(res.fault).to.equal(c.fault);
      });
    }
  });
});
