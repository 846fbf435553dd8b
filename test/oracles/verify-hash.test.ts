import { expect } from "chai";
import { ethers } from "ethers";
import fc from "fast-check";

import { keccakHex, packedKeccak, type PackedPart } from "../../oracles/verify/hash";

const hex = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => ethers.hexlify(b));
const part: fc.Arbitrary<PackedPart> = fc.oneof(
  hex(32).map((value) => ({ type: "bytes32" as const, value })),
  hex(20).map((value) => ({ type: "address" as const, value: ethers.getAddress(value) })),
  fc.integer({ min: 0, max: 255 }).map((value) => ({ type: "uint8" as const, value })),
  fc.bigInt({ min: 0n, max: ethers.MaxUint256 }).map((value) => ({ type: "uint256" as const, value })),
);

describe("verify/hash", function () {
  it("keccakHex equals ethers.keccak256 on any bytes (chunks of 4 KiB included)", function () {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect(keccakHex(data)).to.equal(ethers.keccak256(data));
      }),
      { numRuns: 200 },
    );
  });

  it("packedKeccak equals ethers.solidityPackedKeccak256 for bytes32, address, uint8 and uint256 tuples", function () {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 7 }), (parts) => {
        const expected = ethers.solidityPackedKeccak256(
          parts.map((p) => p.type),
          parts.map((p) => p.value),
        );
        expect(packedKeccak(parts)).to.equal(BigInt(expected));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses values that do not fit their type", function () {
    expect(() => packedKeccak([{ type: "uint8", value: 256 }])).to.throw(RangeError, /uint8/);
    expect(() => packedKeccak([{ type: "uint256", value: -1n }])).to.throw(RangeError, /uint256/);
    expect(() => packedKeccak([{ type: "uint256", value: 1n << 256n }])).to.throw(RangeError, /uint256/);
    expect(() => packedKeccak([{ type: "bytes32", value: "0x1234" }])).to.throw(RangeError, /bytes32/);
    expect(() => packedKeccak([{ type: "address", value: "0xzz" + "0".repeat(38) }])).to.throw(RangeError, /address/);
  });
});
