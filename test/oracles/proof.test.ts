import { expect } from "chai";
import fc from "fast-check";
import { ecdsaRecover } from "secp256k1";
import { ethers } from "ethers";
import { latLngToCell } from "h3-js";
import { ResourceClass } from "../../sdk/enums";
import {
  isChecksummedAddress,
  KECCAK_IMPLEMENTATION,
  keccak256,
  keccak256Js,
  toChecksumAddress,
} from "../../oracles/proof/hash";
import {
  assertProofSignature,
  canonicalJson,
  CanonicalJsonError,
  InvalidProofError,
  InvalidSignatureError,
  MalformedProofError,
  MeshworkError,
  parseProofRecord,
  payloadHash,
  PROOF_TYPES,
  proofDigest,
  proofDomain,
  proofMessage,
  proofDigestBytes,
  ProofKind,
  recoverSigner,
  recoverSignerBytes,
  type JsonValue,
  signProof,
  SignerMismatchError,
  toProofJson,
  verifyProofSignature,
  type ProofDraft,
  type ProofRecord,
} from "../../oracles/proof";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const OTHER_REGISTRY = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const DOMAIN = proofDomain(31337n, REGISTRY);
const CELL = latLngToCell(37.7749, -122.4194, 9);
const h32 = (tag: string) => ethers.keccak256(ethers.toUtf8Bytes(tag));

// Deterministic keys so a failure can be reproduced.
const device = new ethers.Wallet(h32("device key"));
const other = new ethers.Wallet(h32("other key"));

const header = { epoch: 42n, nonce: 7n, timestamp: 1_767_225_600n };

/** One honest draft per kind. */
const drafts: ProofDraft[] = [
  { ...header, resourceClass: ResourceClass.Coverage, kind: ProofKind.Heartbeat, payload: { uptimeSeconds: 86_400 } },
  {
    ...header,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.CoverageBeacon,
    payload: { cell: CELL, txPowerDbm: 27, beaconId: h32("beacon") },
  },
  {
    ...header,
    resourceClass: ResourceClass.Coverage,
    kind: ProofKind.CoverageWitness,
    payload: { beaconId: h32("beacon"), beaconDevice: other.address, cell: CELL, rssiDbm: -97.5, snrDb: 6.25 },
  },
  {
    ...header,
    resourceClass: ResourceClass.Storage,
    kind: ProofKind.StorageChallenge,
    payload: { dataRoot: h32("root"), chunkIndex: 3, chunk: "0x" + "ab".repeat(4096), path: [h32("a"), h32("b")] },
  },
  {
    ...header,
    resourceClass: ResourceClass.ComputeGpu,
    kind: ProofKind.ComputeChallenge,
    payload: { n: 2, resultHash: h32("result"), result: ["19", "-22", "43", "0"] },
  },
  {
    ...header,
    resourceClass: ResourceClass.ComputeCpu,
    kind: ProofKind.ComputeReceipt,
    payload: {
      jobId: h32("job"),
      client: other.address,
      workUnits: "123456789012345678901234567890",
      clientSignature: "0x" + "11".repeat(64) + "1b",
    },
  },
  {
    ...header,
    resourceClass: ResourceClass.Mapping,
    kind: ProofKind.MappingCapture,
    payload: { lat: 48.8584, lng: 2.2945, capturedAt: 1_767_225_590, imageHash: h32("image") },
  },
  {
    ...header,
    resourceClass: ResourceClass.Energy,
    kind: ProofKind.EnergyReading,
    payload: { meterWh: "18446744073709551616000", readAt: 1_767_225_599 },
  },
];

const heartbeat = () => signProof(device, DOMAIN, drafts[0]);
const withSignature = (record: ProofRecord, signature: string): ProofRecord => ({ ...record, signature });

/** A valid wire-form record to mutate in parse tests. */
function wire(kindIndex = 0): Record<string, unknown> {
  return JSON.parse(JSON.stringify(toProofJson(signProof(device, DOMAIN, drafts[kindIndex]))));
}

function expectMalformed(input: unknown, ...fragments: string[]): MalformedProofError {
  let caught: unknown;
  try {
    parseProofRecord(input);
  } catch (e) {
    caught = e;
  }
  expect(caught, "parseProofRecord should throw").to.be.instanceOf(MalformedProofError);
  const error = caught as MalformedProofError;
  for (const fragment of fragments) expect(error.message).to.include(fragment);
  return error;
}

describe("oracles/proof", function () {
  describe("canonicalJson / payloadHash", function () {
    it("sorts keys recursively and has no whitespace", function () {
      expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" } })).to.equal(
        '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
      );
    });

    it("gives the same string and hash whatever the key order, and another hash for another value", function () {
      const a = { lat: 1.5, lng: -2, capturedAt: 1_767_225_590, imageHash: h32("i") };
      const b = { imageHash: h32("i"), capturedAt: 1_767_225_590, lng: -2, lat: 1.5 };
      expect(canonicalJson(a)).to.equal(canonicalJson(b));
      expect(payloadHash(a)).to.equal(payloadHash(b));
      expect(payloadHash(a)).to.equal(ethers.keccak256(ethers.toUtf8Bytes(canonicalJson(a))));
      expect(payloadHash({ ...a, lat: 1.50001 })).to.not.equal(payloadHash(a));
    });

    it("keeps array order and escapes strings", function () {
      expect(canonicalJson([2, 1])).to.not.equal(canonicalJson([1, 2]));
      expect(canonicalJson({ 'q"\n': "é\u0000" })).to.equal('{"q\\"\\n":"é\\u0000"}');
      expect(canonicalJson(-0)).to.equal("0");
    });

    it("rejects values that are not plain JSON", function () {
      const bad: unknown[] = [NaN, Infinity, undefined, 1n, new Date(0), { a: undefined }, [() => 1]];
      for (const value of bad) {
        expect(() => canonicalJson(value as never), String(value)).to.throw(CanonicalJsonError);
      }
    });
  });

  describe("proofDigest", function () {
    it("equals ethers' TypedDataEncoder.hash over the DeviceProof struct", function () {
      const record = heartbeat();
      expect(proofDigest(DOMAIN, record)).to.equal(
        ethers.TypedDataEncoder.hash(DOMAIN, PROOF_TYPES, proofMessage(record)),
      );
      expect(proofMessage(record).payloadHash).to.equal(payloadHash(record.payload));
    });

    it("produces signatures that ethers.verifyTypedData attributes to the device", function () {
      const record = heartbeat();
      expect(ethers.verifyTypedData(DOMAIN, PROOF_TYPES, proofMessage(record), record.signature)).to.equal(
        device.address,
      );
    });
  });

  describe("signProof / verifyProofSignature", function () {
    for (const draft of drafts) {
      it(`signs and verifies kind ${draft.kind}, also after a JSON round trip`, function () {
        const record = signProof(device, DOMAIN, draft);
        expect(record.device).to.equal(device.address);
        expect(verifyProofSignature(record, DOMAIN)).to.equal(true);
        const back = parseProofRecord(JSON.parse(JSON.stringify(toProofJson(record))));
        expect(back).to.deep.equal(record);
        expect(verifyProofSignature(back, DOMAIN)).to.equal(true);
        expect(() => assertProofSignature(back, DOMAIN)).to.not.throw();
      });
    }

    it("signs a payload built with another key order to the same record", function () {
      const a = signProof(device, DOMAIN, drafts[6]);
      const reordered = { imageHash: h32("image"), capturedAt: 1_767_225_590, lng: 2.2945, lat: 48.8584 };
      const b = signProof(device, DOMAIN, { ...drafts[6], payload: reordered } as ProofDraft);
      expect(b.signature).to.equal(a.signature);
    });

    it("refuses to sign a payload the oracles would reject", function () {
      const bad = { ...drafts[0], payload: { uptimeSeconds: -1 } } as ProofDraft;
      expect(() => signProof(device, DOMAIN, bad)).to.throw(MalformedProofError, "payload.uptimeSeconds");
    });

    const tampers: [string, (r: ProofRecord) => ProofRecord][] = [
      ["payload", (r) => ({ ...r, payload: { uptimeSeconds: 86_401 } }) as ProofRecord],
      ["epoch", (r) => ({ ...r, epoch: r.epoch + 1n })],
      ["nonce", (r) => ({ ...r, nonce: r.nonce + 1n })],
      ["kind", (r) => ({ ...r, kind: ProofKind.EnergyReading }) as unknown as ProofRecord],
      ["resourceClass", (r) => ({ ...r, resourceClass: ResourceClass.Storage })],
      ["timestamp", (r) => ({ ...r, timestamp: r.timestamp + 1n })],
      ["device", (r) => ({ ...r, device: other.address })],
    ];
    for (const [field, tamper] of tampers) {
      it(`rejects a record whose ${field} was changed after signing`, function () {
        const record = heartbeat();
        expect(verifyProofSignature(record, DOMAIN)).to.equal(true);
        expect(verifyProofSignature(tamper(record), DOMAIN)).to.equal(false);
        expect(() => assertProofSignature(tamper(record), DOMAIN)).to.throw(SignerMismatchError);
      });
    }

    it("rejects a signature made for another chainId or another registry (no cross-domain replay)", function () {
      const record = heartbeat();
      expect(verifyProofSignature(record, proofDomain(1n, REGISTRY))).to.equal(false);
      expect(verifyProofSignature(record, proofDomain(31337n, OTHER_REGISTRY))).to.equal(false);
      const elsewhere = signProof(device, proofDomain(1n, REGISTRY), drafts[0]);
      expect(verifyProofSignature(elsewhere, DOMAIN)).to.equal(false);
    });

    it("rejects a record signed by another key than its device", function () {
      // `other` signs the exact struct naming `device`: only the key is wrong.
      const honest = heartbeat();
      const forged = withSignature(honest, other.signingKey.sign(proofDigest(DOMAIN, honest)).serialized);
      expect(verifyProofSignature(forged, DOMAIN)).to.equal(false);
      let caught: unknown;
      try {
        assertProofSignature(forged, DOMAIN);
      } catch (e) {
        caught = e;
      }
      expect(caught).to.be.instanceOf(SignerMismatchError);
      expect((caught as SignerMismatchError).details).to.include({ device: device.address, signer: other.address });
    });

    it("rejects the malleable high-s twin of a valid signature", function () {
      const record = heartbeat();
      const sig = ethers.Signature.from(record.signature);
      const highS = N - BigInt(sig.s);
      const twinV = sig.v === 27 ? 28 : 27;
      const twin = ethers.concat([sig.r, ethers.toBeHex(highS, 32), ethers.toBeHex(twinV, 1)]);
      // The twin is a genuine signature of the same key: libsecp256k1 recovers the same public key from it...
      const digest = ethers.getBytes(proofDigest(DOMAIN, record));
      const pub = ecdsaRecover(ethers.getBytes(twin).subarray(0, 64), twinV - 27, digest, false);
      expect(ethers.computeAddress(ethers.hexlify(pub))).to.equal(device.address);
      // ...and still it is refused.
      expect(() => recoverSigner(digest, twin)).to.throw(InvalidSignatureError, "high");
      expect(() => verifyProofSignature(withSignature(record, twin), DOMAIN)).to.throw(InvalidSignatureError);
    });

    it("rejects malformed signatures with InvalidSignatureError", function () {
      const record = heartbeat();
      const sig = record.signature;
      const rs = sig.slice(0, 130);
      const bad: [string, string][] = [
        ["too short", sig.slice(0, 128)],
        ["too long", sig + "00"],
        ["v = 0", rs + "00"],
        ["v = 1", rs + "01"],
        ["v = 29", rs + "1d"],
        ["r = 0", "0x" + "00".repeat(32) + sig.slice(66)],
        ["r = n", "0x" + N.toString(16) + sig.slice(66)],
        ["s = 0", sig.slice(0, 66) + "00".repeat(32) + sig.slice(130)],
        ["not hex", "0x" + "zz".repeat(65)],
        ["empty", "0x"],
      ];
      for (const [label, signature] of bad) {
        expect(() => verifyProofSignature(withSignature(record, signature), DOMAIN), label).to.throw(
          InvalidSignatureError,
        );
      }
      for (const v of ["00", "01", "1d", "1e"]) {
        expect(() => recoverSigner(proofDigest(DOMAIN, record), rs + v), v).to.throw(InvalidSignatureError, "27 or 28");
      }
      expect(() => recoverSigner("0x1234", sig)).to.throw(InvalidSignatureError, "digest");
    });
  });

  describe("recoverSigner", function () {
    it("agrees with ethers.recoverAddress on 50 random keys and digests", function () {
      for (let i = 0; i < 50; i++) {
        const wallet = ethers.Wallet.createRandom();
        const digest = ethers.hexlify(ethers.randomBytes(32));
        const signature = wallet.signingKey.sign(digest).serialized;
        const recovered = recoverSigner(digest, signature);
        expect(recovered).to.equal(ethers.recoverAddress(digest, signature));
        expect(recovered).to.equal(wallet.address);
        expect(recoverSigner(ethers.getBytes(digest), ethers.getBytes(signature))).to.equal(wallet.address);
      }
    });

    it("returns another address for another digest", function () {
      const digest = h32("d");
      const signature = device.signingKey.sign(digest).serialized;
      expect(recoverSigner(h32("e"), signature)).to.not.equal(device.address);
    });
  });

  describe("fast digest and recovery (hash.ts) against ethers", function () {
    const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
    const address = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => ethers.getAddress(ethers.hexlify(b)));
    const domain = fc.record({
      chainId: fc.bigInt({ min: 1n, max: 2n ** 64n }),
      registry: address,
    });

    it(`Keccak-256 (${KECCAK_IMPLEMENTATION}, and the JavaScript fallback) equals ethers' on bytes and strings`, function () {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.string({ unit: "binary", maxLength: 200 }), (bytes, text) => {
          for (const hash of [keccak256, keccak256Js]) {
            expect(ethers.hexlify(hash(bytes))).to.equal(ethers.keccak256(bytes));
            expect(ethers.hexlify(hash(bytes.subarray(1)))).to.equal(ethers.keccak256(bytes.subarray(1)));
            expect(ethers.hexlify(hash(text))).to.equal(ethers.keccak256(ethers.toUtf8Bytes(text)));
          }
        }),
        { numRuns: 300 },
      );
    });

    it("proofDigest equals ethers' TypedDataEncoder.hash on random records and domains", function () {
      fc.assert(
        fc.property(
          domain,
          address,
          u64,
          fc.integer({ min: 0, max: 255 }),
          fc.integer({ min: 0, max: 255 }),
          u64,
          u64,
          fc.jsonValue(),
          (d, device, epoch, resourceClass, kind, nonce, timestamp, payload) => {
            const dom = proofDomain(d.chainId, d.registry);
            // Any header and JSON payload (not only schema-valid ones): the encoding must not depend on validity.
            const record = { device, epoch, resourceClass, kind, nonce, timestamp, payload: payload as JsonValue };
            const unsigned = record as unknown as Parameters<typeof proofDigest>[1];
            const expected = ethers.TypedDataEncoder.hash(dom, PROOF_TYPES, {
              ...record,
              payloadHash: ethers.keccak256(ethers.toUtf8Bytes(canonicalJson(record.payload))),
            });
            expect(proofDigest(dom, unsigned)).to.equal(expected);
            expect(ethers.hexlify(proofDigestBytes(dom, unsigned))).to.equal(expected);
          },
        ),
        { numRuns: 300 },
      );
    });

    it("rejects a field out of its type, as ethers does", function () {
      const record = heartbeat();
      expect(() => proofDigest(DOMAIN, { ...record, nonce: 2n ** 64n })).to.throw(RangeError);
      expect(() => proofDigest(DOMAIN, { ...record, epoch: -1n })).to.throw(RangeError);
      expect(() => proofDigest(DOMAIN, { ...record, kind: 256 } as unknown as ProofRecord)).to.throw(RangeError);
      expect(() => proofDigest(DOMAIN, { ...record, device: "0x1234" })).to.throw(TypeError);
    });

    it("recoverSignerBytes equals ethers.recoverAddress on valid signatures", function () {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          (seed, digest) => {
            const key = ethers.keccak256(seed); // a valid scalar with overwhelming probability
            const signature = new ethers.SigningKey(key).sign(digest).serialized;
            const expected = ethers.recoverAddress(digest, signature);
            expect(ethers.getAddress(ethers.hexlify(recoverSignerBytes(digest, signature)))).to.equal(expected);
            expect(recoverSigner(digest, signature)).to.equal(expected);
          },
        ),
        { numRuns: 100 },
      );
    });

    it("isChecksummedAddress / toChecksumAddress agree with ethers' getAddress", function () {
      fc.assert(
        fc.property(address, fc.string({ maxLength: 44 }), (a, junk) => {
          expect(toChecksumAddress(a.toLowerCase())).to.equal(a);
          expect(isChecksummedAddress(a)).to.equal(true);
          expect(isChecksummedAddress(a.toLowerCase())).to.equal(a.toLowerCase() === a);
          const flipped = a.slice(0, -1) + (a.at(-1) === a.at(-1)!.toUpperCase() ? a.at(-1)!.toLowerCase() : a.at(-1)!.toUpperCase());
          expect(isChecksummedAddress(flipped)).to.equal(flipped === a);
          const ethersSays = ethers.isAddress(junk) && ethers.getAddress(junk) === junk;
          expect(isChecksummedAddress(junk)).to.equal(ethersSays);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe("parseProofRecord", function () {
    it("accepts uint64 fields as decimal strings, safe integers or bigints", function () {
      const base = wire();
      for (const epoch of ["42", 42, 42n]) {
        expect(parseProofRecord({ ...base, epoch }).epoch).to.equal(42n);
      }
      expect(parseProofRecord({ ...base, nonce: "18446744073709551615" }).nonce).to.equal(2n ** 64n - 1n);
    });

    it("rejects something that is not a record", function () {
      for (const input of [null, 5, "proof", [1]]) expectMalformed(input, "object");
    });

    it("rejects wrong types, naming the field", function () {
      expectMalformed({ ...wire(), epoch: true }, "epoch");
      expectMalformed({ ...wire(), epoch: "-1" }, "epoch");
      expectMalformed({ ...wire(), epoch: 1.5 }, "epoch");
      expectMalformed({ ...wire(), nonce: "18446744073709551616" }, "nonce", "uint64");
      expectMalformed({ ...wire(), timestamp: "007" }, "timestamp");
      expectMalformed({ ...wire(), device: device.address.toLowerCase() }, "device", "checksummed");
      expectMalformed({ ...wire(), device: "0x1234" }, "device");
      expectMalformed({ ...wire(), signature: 12 }, "signature");
      expectMalformed({ ...wire(), signature: "0x" + "AB".repeat(65) }, "signature", "lowercase");
      expectMalformed({ ...wire(), payload: { uptimeSeconds: "1" } }, "payload.uptimeSeconds");
      expectMalformed({ ...wire(), payload: "x" }, "payload");
      expectMalformed({ ...wire(6), payload: { ...(wire(6).payload as object), lat: 91 } }, "payload.lat", "<= 90");
    });

    it("rejects missing and unknown fields (strict objects)", function () {
      const { nonce: _nonce, ...missing } = wire();
      expectMalformed(missing, "nonce");
      expectMalformed({ ...wire(), extra: 1 }, "extra");
      expectMalformed({ ...wire(), payload: { uptimeSeconds: 1, gps: "x" } }, "payload", "gps");
    });

    it("rejects unknown kinds and resource classes", function () {
      expectMalformed({ ...wire(), kind: 8 }, "kind", "unknown proof kind");
      expectMalformed({ ...wire(), kind: "0" }, "kind");
      expectMalformed({ ...wire(), resourceClass: 6 }, "resourceClass", "unknown resource class");
    });

    it("rejects a kind the device's class cannot send", function () {
      expectMalformed({ ...wire(3), resourceClass: ResourceClass.Coverage }, "resourceClass", "kind 3");
    });

    it("rejects oversized arrays and strings", function () {
      const storage = wire(3);
      const sp = storage.payload as Record<string, unknown>;
      expectMalformed({ ...storage, payload: { ...sp, path: Array(41).fill(h32("p")) } }, "payload.path", "max 40");
      expectMalformed({ ...storage, payload: { ...sp, chunk: "0x" + "ab".repeat(4097) } }, "payload.chunk", "4096");
      expectMalformed({ ...storage, payload: { ...sp, chunk: "0x" } }, "payload.chunk", "too short");
      expectMalformed({ ...storage, payload: { ...sp, dataRoot: h32("r") + "00" } }, "payload.dataRoot");
      expectMalformed({ ...storage, payload: { ...sp, path: [h32("p"), "0x12"] } }, "payload.path.1");

      const compute = wire(4);
      const cp = compute.payload as Record<string, unknown>;
      expectMalformed({ ...compute, payload: { ...cp, n: 65, result: [] } }, "payload.n", "<= 64");
      expectMalformed({ ...compute, payload: { ...cp, result: Array(4097).fill("1") } }, "payload.result", "max 4096");
      expectMalformed({ ...compute, payload: { ...cp, result: ["1", "2", "3"] } }, "payload.result", "n*n");
      expectMalformed({ ...compute, payload: { ...cp, result: ["1", "2", "3", "-0"] } }, "payload.result.3");

      const energy = wire(7);
      expectMalformed({ ...energy, payload: { meterWh: "1".repeat(79), readAt: 1_767_225_599 } }, "payload.meterWh");
      expectMalformed({ ...energy, payload: { meterWh: "1", readAt: 1_767_225_599_000 } }, "payload.readAt");

      const receipt = wire(5);
      const rp = receipt.payload as Record<string, unknown>;
      expectMalformed(
        { ...receipt, payload: { ...rp, clientSignature: "0x" + "11".repeat(66) } },
        "payload.clientSignature",
      );
    });

    it("rejects an invalid H3 cell", function () {
      const beacon = wire(1);
      const bp = beacon.payload as Record<string, unknown>;
      expectMalformed({ ...beacon, payload: { ...bp, cell: "8928308280fffff".replace("8", "f") } }, "payload.cell");
      expectMalformed({ ...beacon, payload: { ...bp, cell: "x".repeat(1000) } }, "payload.cell");
    });

    it("lists every issue in details and a readable message", function () {
      const error = expectMalformed({ ...wire(), epoch: true, nonce: -1 }, "epoch", "nonce");
      expect(error).to.be.instanceOf(InvalidProofError).and.instanceOf(MeshworkError);
      expect(error.name).to.equal("MalformedProofError");
      const issues = error.details.issues as { path: string; message: string }[];
      expect(issues.map((i) => i.path)).to.include.members(["epoch", "nonce"]);
    });
  });
});
