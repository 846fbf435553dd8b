import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";

import { ProviderRegistry__factory, type ProviderRegistry } from "../../typechain-types";
import { Param, ClassParam } from "../../sdk/enums";
import {
  DAY,
  DeviceStatus,
  H3_CELL,
  MESH,
  ResourceClass,
  coreFixture,
  operatorFixture,
  registerDevice,
} from "../helpers/fixtures";
import {
  H3_CELL_2,
  LOCATION_TYPES,
  deviceWallet,
  registryDomain,
  signLocationUpdate,
  signRegistration,
  type RegistrationParams,
} from "../helpers/devices";

// Default per-class parameters of ProtocolConfig.
const COVERAGE_STAKE = 100n * MESH;
const UNBONDING = 7n * DAY;
const COOLDOWN = DAY;

/* ----------------------------------------------------------------------------------------------------------------- */
/* H3 index construction                                                                                              */
/* ----------------------------------------------------------------------------------------------------------------- */

/** Builds an H3 index from its fields: digits beyond `res` are set to 7 unless `digits` says otherwise. */
function h3Index(res: number, baseCell: number, digits: number[], mode = 1): bigint {
  let index = (BigInt(mode) << 59n) | (BigInt(res) << 52n) | (BigInt(baseCell) << 45n);
  for (let r = 1; r <= 15; r++) {
    const digit = digits[r - 1] ?? 7;
    index |= BigInt(digit) << BigInt((15 - r) * 3);
  }
  return index;
}

/** Replaces resolution digit `r` (1..15) of `index`. */
function withDigit(index: bigint, r: number, digit: number): bigint {
  const shift = BigInt((15 - r) * 3);
  return (index & ~(7n << shift)) | (BigInt(digit) << shift);
}

/* ----------------------------------------------------------------------------------------------------------------- */
/* Fixtures and helpers                                                                                               */
/* ----------------------------------------------------------------------------------------------------------------- */

/** operatorFixture plus: bob staked 1,000 MESH (no devices). */
async function twoOperatorsFixture() {
  const f = await operatorFixture();
  await f.staking.connect(f.bob).stake(1_000n * MESH);
  return f;
}

/** operatorFixture plus: `fisher` holds JAILER_ROLE on the registry. */
async function jailerFixture() {
  const f = await operatorFixture();
  await f.registry.grantRole(await f.registry.JAILER_ROLE(), f.fisher.address);
  return { ...f, jailer: f.fisher };
}

async function nextDeadline(): Promise<bigint> {
  return BigInt(await time.latest()) + DAY;
}

/** Default Coverage registration of device `label` under `operator`, with overrides. */
async function signFor(
  registry: ProviderRegistry,
  label: string,
  operator: string,
  overrides: Partial<RegistrationParams> = {},
) {
  const device = deviceWallet(label);
  const signed = await signRegistration(registry, device, {
    operator,
    resourceClass: ResourceClass.Coverage,
    capacity: 1n,
    location: H3_CELL,
    deadline: await nextDeadline(),
    ...overrides,
  });
  return { device, ...signed };
}

/** A location update signed over an arbitrary EIP-712 domain. */
async function signLocationWithDomain(
  registry: ProviderRegistry,
  label: string,
  location: bigint,
  deadline: bigint,
  domain: Partial<Awaited<ReturnType<typeof registryDomain>>>,
): Promise<string> {
  const device = deviceWallet(label);
  return device.signTypedData({ ...(await registryDomain(registry)), ...domain }, LOCATION_TYPES, {
    device: device.address,
    location,
    nonce: await registry.nonces(device.address),
    deadline,
  });
}

/** Turns a valid 65-byte signature into its malleable twin (s' = n - s, v flipped). */
function malleate(signature: string): string {
  const sig = ethers.Signature.from(signature);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = n - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return ethers.concat([sig.r, ethers.toBeHex(highS, 32), ethers.toBeHex(v, 1)]);
}

/* ----------------------------------------------------------------------------------------------------------------- */

describe("ProviderRegistry", function () {
  describe("deployment", function () {
    it("stores its config and staking addresses and grants the admin role to governance", async function () {
      const f = await loadFixture(coreFixture);
      expect(await f.registry.config()).to.equal(await f.config.getAddress());
      expect(await f.registry.staking()).to.equal(await f.staking.getAddress());
      expect(await f.registry.hasRole(await f.registry.DEFAULT_ADMIN_ROLE(), f.governance.address)).to.equal(true);
      expect(await f.registry.hasRole(await f.registry.JAILER_ROLE(), f.governance.address)).to.equal(false);
    });

    it("exposes the role and EIP-712 type hashes", async function () {
      const f = await loadFixture(coreFixture);
      expect(await f.registry.JAILER_ROLE()).to.equal(ethers.id("JAILER_ROLE"));
      expect(await f.registry.REGISTRATION_TYPEHASH()).to.equal(
        ethers.id(
          "DeviceRegistration(address operator,uint8 resourceClass,uint64 capacity,uint64 location,uint256 nonce,uint256 deadline)",
        ),
      );
      expect(await f.registry.LOCATION_TYPEHASH()).to.equal(
        ethers.id("LocationUpdate(address device,uint64 location,uint256 nonce,uint256 deadline)"),
      );
    });

    it("has the EIP-712 domain 'Meshwork ProviderRegistry' version 1 on this chain", async function () {
      const f = await loadFixture(coreFixture);
      const domain = await f.registry.eip712Domain();
      expect(domain.name).to.equal("Meshwork ProviderRegistry");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
      expect(domain.verifyingContract).to.equal(await f.registry.getAddress());
    });

    it("supports the AccessControl and ERC-165 interfaces", async function () {
      const f = await loadFixture(coreFixture);
      expect(await f.registry.supportsInterface("0x7965db0b")).to.equal(true); // IAccessControl
      expect(await f.registry.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await f.registry.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("returns an empty record for an unknown device", async function () {
      const f = await loadFixture(coreFixture);
      const unknown = deviceWallet("nobody").address;
      const d = await f.registry.getDevice(unknown);
      expect(d.operator).to.equal(ethers.ZeroAddress);
      expect(d.status).to.equal(DeviceStatus.None);
      expect(d.capacity).to.equal(0n);
      expect(await f.registry.operatorOf(unknown)).to.equal(ethers.ZeroAddress);
      expect(await f.registry.nonces(unknown)).to.equal(0n);
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(0n);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(0n);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("registerDevice", function () {
    describe("success", function () {
      it("registers a Coverage device with the signed fields and emits DeviceRegistered", async function () {
        const f = await loadFixture(coreFixture);
        await f.staking.connect(f.alice).stake(1_000n * MESH);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, {
          metadataURI: "ipfs://meta",
        });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.emit(f.registry, "DeviceRegistered")
          .withArgs(device.address, f.alice.address, ResourceClass.Coverage, 1n, H3_CELL, "ipfs://meta");
        const now = BigInt(await time.latest());

        const d = await f.registry.getDevice(device.address);
        expect(d.operator).to.equal(f.alice.address);
        expect(d.resourceClass).to.equal(ResourceClass.Coverage);
        expect(d.status).to.equal(DeviceStatus.Active);
        expect(d.location).to.equal(H3_CELL);
        expect(d.capacity).to.equal(1n);
        expect(d.lastLocationChange).to.equal(now);
        expect(d.statusSince).to.equal(now);
        expect(d.jailedUntil).to.equal(0n);
        expect(d.pendingOperator).to.equal(ethers.ZeroAddress);
        expect(d.metadataURI).to.equal("ipfs://meta");

        expect(await f.registry.operatorOf(device.address)).to.equal(f.alice.address);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(1n);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(0n);
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(COVERAGE_STAKE);
        expect(await f.registry.nonces(device.address)).to.equal(1n); // registration consumed nonce 0
      });

      it("leaves the metadata URI empty when none is given", async function () {
        const f = await loadFixture(operatorFixture);
        expect((await f.registry.getDevice(f.aliceDevice)).metadataURI).to.equal("");
      });

      it("accepts a signature whose deadline is the block timestamp", async function () {
        const f = await loadFixture(operatorFixture);
        const deadline = BigInt(await time.latest()) + 100n;
        const { device, registration, signature } = await signFor(f.registry, "edge", f.alice.address, { deadline });
        await time.setNextBlockTimestamp(deadline);
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature)).to.emit(
          f.registry,
          "DeviceRegistered",
        );
        expect(await f.registry.operatorOf(device.address)).to.equal(f.alice.address);
      });

      it("accepts a non-Coverage device with a zero location", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "disk", f.alice.address, {
          resourceClass: ResourceClass.Storage,
          capacity: 500n,
          location: 0n,
        });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.emit(f.registry, "DeviceRegistered")
          .withArgs(device.address, f.alice.address, ResourceClass.Storage, 500n, 0n, "");
        expect((await f.registry.getDevice(device.address)).location).to.equal(0n);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(500n);
      });

      it("accepts a non-Coverage device with a valid H3 location", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "cam", f.alice.address, {
          resourceClass: ResourceClass.Mapping,
          location: H3_CELL_2,
        });
        await f.registry.connect(f.alice).registerDevice(registration, signature);
        expect((await f.registry.getDevice(device.address)).location).to.equal(H3_CELL_2);
      });

      it("accepts a capacity equal to the class maximum", async function () {
        const f = await loadFixture(operatorFixture);
        // ComputeCpu: max 1,024 vCPU at 5 MESH each = 5,120 MESH.
        await f.staking.connect(f.alice).stake(5_120n * MESH);
        const { registration, signature } = await signFor(f.registry, "cpu", f.alice.address, {
          resourceClass: ResourceClass.ComputeCpu,
          capacity: 1_024n,
          location: 0n,
        });
        await f.registry.connect(f.alice).registerDevice(registration, signature);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.ComputeCpu)).to.equal(1_024n);
      });

      it("accepts a registration when the stake covers the total exactly", async function () {
        const f = await loadFixture(operatorFixture);
        await f.staking.connect(f.bob).stake(COVERAGE_STAKE);
        const { registration, signature } = await signFor(f.registry, "bob-1", f.bob.address);
        await f.registry.connect(f.bob).registerDevice(registration, signature);
        expect(await f.registry.requiredStake(f.bob.address)).to.equal(COVERAGE_STAKE);
        expect(await f.staking.selfStake(f.bob.address)).to.equal(COVERAGE_STAKE);
      });
    });

    describe("signature checks", function () {
      it("rejects a signature made by another key", async function () {
        const f = await loadFixture(operatorFixture);
        const device = deviceWallet("victim");
        const { registration, signature } = await signRegistration(f.registry, deviceWallet("attacker"), {
          operator: f.alice.address,
          resourceClass: ResourceClass.Coverage,
          capacity: 1n,
          location: H3_CELL,
          deadline: await nextDeadline(),
        });
        const forged = { ...registration, device: device.address };
        await expect(f.registry.connect(f.alice).registerDevice(forged, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
      });

      it("rejects a consent signed for another operator (no front-running)", async function () {
        const f = await loadFixture(twoOperatorsFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address);
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
      });

      it("rejects a request whose fields differ from what the device signed", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, {
          resourceClass: ResourceClass.Storage,
          capacity: 10n,
          location: 0n,
        });
        const cases = [
          { ...registration, capacity: 11n },
          { ...registration, resourceClass: ResourceClass.Energy },
          { ...registration, location: H3_CELL },
          { ...registration, deadline: BigInt(registration.deadline) + 1n },
        ];
        for (const tampered of cases) {
          await expect(f.registry.connect(f.alice).registerDevice(tampered, signature))
            .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
            .withArgs(device.address);
        }
        // The untampered request still goes through: the metadata URI is not part of the signed consent.
        await f.registry.connect(f.alice).registerDevice({ ...registration, metadataURI: "anything" }, signature);
        expect((await f.registry.getDevice(device.address)).metadataURI).to.equal("anything");
      });

      it("rejects an expired deadline", async function () {
        const f = await loadFixture(operatorFixture);
        const deadline = BigInt(await time.latest()) + 100n;
        const { registration, signature } = await signFor(f.registry, "dev", f.alice.address, { deadline });
        await time.setNextBlockTimestamp(deadline + 1n);
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "SignatureExpired")
          .withArgs(deadline);
      });

      it("rejects a registration signed with a nonce that is not current", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, { nonce: 1n });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
        expect(await f.registry.nonces(device.address)).to.equal(0n);
      });

      it("rejects a signature for another chain id", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, {
          domain: { chainId: 1n },
        });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
      });

      it("rejects a signature for another registry address (which would accept it)", async function () {
        const f = await loadFixture(operatorFixture);
        const other = await new ProviderRegistry__factory(f.governance).deploy(
          f.config,
          f.staking,
          f.governance.address,
        );
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, {
          domain: { verifyingContract: await other.getAddress() },
        });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
        // The same consent is valid where it was meant to be used.
        await expect(other.connect(f.alice).registerDevice(registration, signature)).to.emit(other, "DeviceRegistered");
      });

      it("rejects a signature over another domain name or version", async function () {
        const f = await loadFixture(operatorFixture);
        for (const domain of [{ name: "Meshwork" }, { version: "2" }]) {
          const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address, { domain });
          await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
            .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
            .withArgs(device.address);
        }
      });

      it("rejects malformed signatures (wrong length, empty, garbage)", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address);
        const malformed = [
          "0x",
          ethers.dataSlice(signature, 0, 64), // 64 bytes (compact form is not accepted)
          ethers.concat([signature, "0x00"]), // 66 bytes
          ethers.dataSlice(signature, 0, 32),
          ethers.concat([ethers.dataSlice(signature, 0, 64), "0x1f"]), // v = 31
          "0x" + "00".repeat(65),
        ];
        for (const bad of malformed) {
          await expect(f.registry.connect(f.alice).registerDevice(registration, bad))
            .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
            .withArgs(device.address);
        }
        // The well-formed signature still works.
        await f.registry.connect(f.alice).registerDevice(registration, signature);
      });

      it("rejects the malleable (high-s) twin of a valid signature", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address);
        await expect(f.registry.connect(f.alice).registerDevice(registration, malleate(signature)))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(device.address);
      });
    });

    describe("duplicates", function () {
      it("rejects a device key that is already registered, even with a fresh consent", async function () {
        const f = await loadFixture(twoOperatorsFixture);
        // The device signs again with its current nonce (1), for bob this time.
        const { registration, signature } = await signFor(f.registry, "alice-1", f.bob.address);
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "DeviceAlreadyRegistered")
          .withArgs(f.aliceDevice);
        expect(await f.registry.operatorOf(f.aliceDevice)).to.equal(f.alice.address);
      });

      it("rejects replaying the original registration", async function () {
        const f = await loadFixture(operatorFixture);
        const { device, registration, signature } = await signFor(f.registry, "dev", f.alice.address);
        await f.registry.connect(f.alice).registerDevice(registration, signature);
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "DeviceAlreadyRegistered")
          .withArgs(device.address);
      });

      it("never re-registers the key of a removed device", async function () {
        const f = await loadFixture(operatorFixture);
        await f.registry.connect(f.alice).beginExit(f.aliceDevice);
        await time.increase(UNBONDING);
        await f.registry.connect(f.alice).completeExit(f.aliceDevice);
        expect((await f.registry.getDevice(f.aliceDevice)).status).to.equal(DeviceStatus.Removed);

        const { registration, signature } = await signFor(f.registry, "alice-1", f.alice.address);
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "DeviceAlreadyRegistered")
          .withArgs(f.aliceDevice);
      });
    });

    describe("capacity and location", function () {
      it("rejects zero capacity", async function () {
        const f = await loadFixture(operatorFixture);
        const { registration, signature } = await signFor(f.registry, "dev", f.alice.address, { capacity: 0n });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidCapacity")
          .withArgs(ResourceClass.Coverage, 0n, 1n);
      });

      it("rejects capacity above the class maximum", async function () {
        const f = await loadFixture(operatorFixture);
        const cases = [
          { resourceClass: ResourceClass.Coverage, capacity: 2n, max: 1n, location: H3_CELL },
          { resourceClass: ResourceClass.Storage, capacity: 1_000_001n, max: 1_000_000n, location: 0n },
          { resourceClass: ResourceClass.ComputeGpu, capacity: 10_001n, max: 10_000n, location: 0n },
          { resourceClass: ResourceClass.ComputeCpu, capacity: 1_025n, max: 1_024n, location: 0n },
          { resourceClass: ResourceClass.Mapping, capacity: 2n, max: 1n, location: 0n },
          { resourceClass: ResourceClass.Energy, capacity: 10_001n, max: 10_000n, location: 0n },
        ];
        for (const c of cases) {
          const { registration, signature } = await signFor(f.registry, `dev-${c.resourceClass}`, f.alice.address, c);
          await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
            .to.be.revertedWithCustomError(f.registry, "InvalidCapacity")
            .withArgs(c.resourceClass, c.capacity, c.max);
        }
      });

      it("follows a MaxCapacity change by governance", async function () {
        const f = await loadFixture(operatorFixture);
        await f.config.setClassParam(ResourceClass.Storage, ClassParam.MaxCapacity, 100n);
        const over = await signFor(f.registry, "disk", f.alice.address, {
          resourceClass: ResourceClass.Storage,
          capacity: 101n,
          location: 0n,
        });
        await expect(f.registry.connect(f.alice).registerDevice(over.registration, over.signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidCapacity")
          .withArgs(ResourceClass.Storage, 101n, 100n);
        const ok = await signFor(f.registry, "disk", f.alice.address, {
          resourceClass: ResourceClass.Storage,
          capacity: 100n,
          location: 0n,
        });
        await f.registry.connect(f.alice).registerDevice(ok.registration, ok.signature);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(100n);
      });

      it("rejects a Coverage device without a location", async function () {
        const f = await loadFixture(operatorFixture);
        const { registration, signature } = await signFor(f.registry, "dev", f.alice.address, { location: 0n });
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidLocation")
          .withArgs(ResourceClass.Coverage, 0n);
      });

      it("rejects an invalid H3 location for any class", async function () {
        const f = await loadFixture(operatorFixture);
        const bad = H3_CELL | (1n << 63n);
        for (const resourceClass of [ResourceClass.Coverage, ResourceClass.Energy]) {
          const { registration, signature } = await signFor(f.registry, `dev-${resourceClass}`, f.alice.address, {
            resourceClass,
            location: bad,
          });
          await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
            .to.be.revertedWithCustomError(f.registry, "InvalidLocation")
            .withArgs(resourceClass, bad);
        }
      });
    });

    describe("stake", function () {
      it("rejects an operator without self-stake", async function () {
        const f = await loadFixture(operatorFixture);
        const { registration, signature } = await signFor(f.registry, "bob-1", f.bob.address);
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
          .withArgs(f.bob.address, 0n, COVERAGE_STAKE);
      });

      it("counts the operator's existing capacity", async function () {
        const f = await loadFixture(operatorFixture);
        await f.staking.connect(f.bob).stake(150n * MESH);
        await registerDevice(f.registry, f.bob, { label: "bob-1" });
        const { registration, signature } = await signFor(f.registry, "bob-2", f.bob.address);
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
          .withArgs(f.bob.address, 150n * MESH, 2n * COVERAGE_STAKE);
        expect(await f.registry.capacityOf(f.bob.address, ResourceClass.Coverage)).to.equal(1n);
      });

      it("sums capacity x StakePerUnit over every class", async function () {
        const f = await loadFixture(operatorFixture);
        await f.staking.connect(f.alice).stake(1_000n * MESH); // 2,000 MESH in all
        const devices = [
          { label: "disk", resourceClass: ResourceClass.Storage, capacity: 1_000n }, // 1,000 x 0.1 = 100
          { label: "gpu", resourceClass: ResourceClass.ComputeGpu, capacity: 10n }, // 10 x 50 = 500
          { label: "cpu", resourceClass: ResourceClass.ComputeCpu, capacity: 16n }, // 16 x 5 = 80
          { label: "cam", resourceClass: ResourceClass.Mapping, capacity: 1n }, // 1 x 50 = 50
          { label: "meter", resourceClass: ResourceClass.Energy, capacity: 20n }, // 20 x 10 = 200
        ];
        for (const d of devices) await registerDevice(f.registry, f.alice, d);
        // Plus alice-1: 1 Coverage x 100 = 100.
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(1_030n * MESH);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(1_000n);
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Energy)).to.equal(20n);

        await registerDevice(f.registry, f.alice, { label: "disk-2", resourceClass: ResourceClass.Storage, capacity: 5n });
        expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(1_005n);
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(1_030n * MESH + MESH / 2n);
      });

      it("recomputes requiredStake after governance changes StakePerUnit", async function () {
        const f = await loadFixture(operatorFixture);
        await registerDevice(f.registry, f.alice, { label: "gpu", resourceClass: ResourceClass.ComputeGpu, capacity: 4n });
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(300n * MESH); // 100 + 4 x 50

        await f.config.setClassParam(ResourceClass.Coverage, ClassParam.StakePerUnit, 250n * MESH);
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(450n * MESH); // 250 + 200

        await f.config.setClassParam(ResourceClass.ComputeGpu, ClassParam.StakePerUnit, 0n);
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(250n * MESH);

        // A change to a class the operator has no capacity in changes nothing.
        await f.config.setClassParam(ResourceClass.Energy, ClassParam.StakePerUnit, 1_000n * MESH);
        expect(await f.registry.requiredStake(f.alice.address)).to.equal(250n * MESH);
      });

      it("enforces the new StakePerUnit on the next registration", async function () {
        const f = await loadFixture(operatorFixture);
        await f.config.setClassParam(ResourceClass.Coverage, ClassParam.StakePerUnit, 600n * MESH);
        const { registration, signature } = await signFor(f.registry, "alice-2", f.alice.address);
        await expect(f.registry.connect(f.alice).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
          .withArgs(f.alice.address, 1_000n * MESH, 1_200n * MESH);
      });
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("H3 cell validation", function () {
    it("builds the helper cells the same way the fixtures spell them", function () {
      // 0x8001fffffffffff is the H3 index of base cell 0 at resolution 0.
      expect(h3Index(0, 0, [])).to.equal(0x8001fffffffffffn);
      expect(h3Index(0, 121, [])).to.equal(0x80f3fffffffffffn);
    });

    const valid: Array<[string, bigint]> = [
      ["the fixture cell (resolution 8)", H3_CELL],
      ["a second resolution 8 cell", H3_CELL_2],
      ["base cell 0 at resolution 0", 0x8001fffffffffffn],
      ["base cell 121 (the last) at resolution 0", 0x80f3fffffffffffn],
      ["a resolution 1 cell with digit 6", h3Index(1, 121, [6])],
      ["a resolution 15 cell using every digit 0..6", h3Index(15, 20, [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0])],
    ];
    for (const [name, cell] of valid) {
      it(`accepts ${name}`, async function () {
        const f = await loadFixture(twoOperatorsFixture);
        const { device, registration, signature } = await signFor(f.registry, "h3", f.bob.address, {
          location: cell,
        });
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.emit(f.registry, "DeviceRegistered")
          .withArgs(device.address, f.bob.address, ResourceClass.Coverage, 1n, cell, "");
        expect((await f.registry.getDevice(device.address)).location).to.equal(cell);
      });
    }

    const MODE_MASK = 0xfn << 59n;
    const BASE_MASK = 0x7fn << 45n;
    const invalid: Array<[string, bigint]> = [
      ["the reserved high bit set", H3_CELL | (1n << 63n)],
      ["mode 0", H3_CELL & ~MODE_MASK],
      ["mode 2 (directed edge)", (H3_CELL & ~MODE_MASK) | (2n << 59n)],
      ["mode 15", H3_CELL | MODE_MASK],
      ["base cell 122", (H3_CELL & ~BASE_MASK) | (122n << 45n)],
      ["base cell 127", H3_CELL | BASE_MASK],
      ["digit 7 at resolution digit 1", withDigit(H3_CELL, 1, 7)],
      ["digit 7 at the last digit inside the resolution", withDigit(H3_CELL, 8, 7)],
      ["a non-7 digit right past the resolution", withDigit(H3_CELL, 9, 0)],
      ["a non-7 digit at digit 15", withDigit(H3_CELL, 15, 6)],
      ["a resolution 0 cell with digit 1 used", withDigit(0x8001fffffffffffn, 1, 3)],
      ["a resolution 15 cell with digit 7", withDigit(h3Index(15, 20, new Array<number>(15).fill(1)), 15, 7)],
      ["all ones", (1n << 64n) - 1n],
      ["a plain small number", 1n],
    ];
    for (const [name, cell] of invalid) {
      it(`rejects ${name}`, async function () {
        const f = await loadFixture(twoOperatorsFixture);
        const { registration, signature } = await signFor(f.registry, "h3", f.bob.address, { location: cell });
        await expect(f.registry.connect(f.bob).registerDevice(registration, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidLocation")
          .withArgs(ResourceClass.Coverage, cell);
      });
    }
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("updateLocation", function () {
    const alice1 = deviceWallet("alice-1");

    it("moves the device after the cooldown with the device's signature", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      expect(await f.registry.nonces(f.aliceDevice)).to.equal(1n);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.emit(f.registry, "LocationUpdated")
        .withArgs(f.aliceDevice, H3_CELL, H3_CELL_2);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.location).to.equal(H3_CELL_2);
      expect(d.lastLocationChange).to.equal(BigInt(await time.latest()));
      expect(await f.registry.nonces(f.aliceDevice)).to.equal(2n);
    });

    it("reverts LocationChangeTooSoon inside the cooldown and allows the move exactly at its end", async function () {
      const f = await loadFixture(operatorFixture);
      const registeredAt = (await f.registry.getDevice(f.aliceDevice)).lastLocationChange;
      const nextAllowed = registeredAt + COOLDOWN;
      const deadline = nextAllowed + DAY;
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);

      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "LocationChangeTooSoon")
        .withArgs(f.aliceDevice, nextAllowed);

      await time.setNextBlockTimestamp(nextAllowed - 1n);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "LocationChangeTooSoon")
        .withArgs(f.aliceDevice, nextAllowed);

      await time.setNextBlockTimestamp(nextAllowed);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.emit(f.registry, "LocationUpdated")
        .withArgs(f.aliceDevice, H3_CELL, H3_CELL_2);

      // The cooldown restarts from the move.
      await time.increase(60);
      const back = await signLocationUpdate(f.registry, alice1, H3_CELL, deadline + DAY);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL, deadline + DAY, back))
        .to.be.revertedWithCustomError(f.registry, "LocationChangeTooSoon")
        .withArgs(f.aliceDevice, nextAllowed + COOLDOWN);
    });

    it("follows a LocationChangeCooldown change by governance", async function () {
      const f = await loadFixture(operatorFixture);
      await f.config.setParam(Param.LocationChangeCooldown, 3_600n);
      await time.increase(3_600);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature)).to.emit(
        f.registry,
        "LocationUpdated",
      );
    });

    it("reverts LocationUnchanged when moving to the current cell", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL, deadline);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "LocationUnchanged")
        .withArgs(f.aliceDevice, H3_CELL);
    });

    it("reverts for a caller who is not the operator", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      await expect(f.registry.connect(f.bob).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });

    it("reverts for an unregistered device", async function () {
      const f = await loadFixture(operatorFixture);
      const ghost = deviceWallet("ghost");
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, ghost, H3_CELL_2, deadline);
      await expect(f.registry.connect(f.alice).updateLocation(ghost.address, H3_CELL_2, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost.address);
    });

    it("reverts SignatureExpired after the deadline", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = BigInt(await time.latest()) + 10n;
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "SignatureExpired")
        .withArgs(deadline);
    });

    it("rejects a signature by another key, including the operator's", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const byOther = await deviceWallet("other").signTypedData(await registryDomain(f.registry), LOCATION_TYPES, {
        device: f.aliceDevice,
        location: H3_CELL_2,
        nonce: 1n,
        deadline,
      });
      const byOperator = await f.alice.signTypedData(await registryDomain(f.registry), LOCATION_TYPES, {
        device: f.aliceDevice,
        location: H3_CELL_2,
        nonce: 1n,
        deadline,
      });
      for (const signature of [byOther, byOperator]) {
        await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(f.aliceDevice);
      }
    });

    it("rejects a signature over another location or deadline", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      const third = 0x8001fffffffffffn; // valid, and neither H3_CELL nor H3_CELL_2
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, third, deadline, signature))
        .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
        .withArgs(f.aliceDevice);
      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline + 1n, signature))
        .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
        .withArgs(f.aliceDevice);
    });

    it("rejects a replayed location signature (its nonce was used)", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = BigInt(await time.latest()) + 10n * DAY;
      const toCell2 = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline); // nonce 1
      await f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, toCell2);
      await time.increase(COOLDOWN);
      const back = await signLocationUpdate(f.registry, alice1, H3_CELL, deadline); // nonce 2
      await f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL, deadline, back);
      await time.increase(COOLDOWN);
      expect(await f.registry.nonces(f.aliceDevice)).to.equal(3n);

      await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, toCell2))
        .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
        .withArgs(f.aliceDevice);
      expect((await f.registry.getDevice(f.aliceDevice)).location).to.equal(H3_CELL);
    });

    it("rejects a signature with a nonce that is not current", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      for (const nonce of [0n, 2n]) {
        const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline, nonce);
        await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(f.aliceDevice);
      }
      expect(await f.registry.nonces(f.aliceDevice)).to.equal(1n);
    });

    it("rejects a signature for another chain id or another registry", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      for (const domain of [{ chainId: 5n }, { verifyingContract: await f.staking.getAddress() }]) {
        const signature = await signLocationWithDomain(f.registry, "alice-1", H3_CELL_2, deadline, domain);
        await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(f.aliceDevice);
      }
    });

    it("rejects a malformed signature", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      const signature = await signLocationUpdate(f.registry, alice1, H3_CELL_2, deadline);
      for (const bad of ["0x", ethers.dataSlice(signature, 0, 64), ethers.concat([signature, "0x01"])]) {
        await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, H3_CELL_2, deadline, bad))
          .to.be.revertedWithCustomError(f.registry, "InvalidDeviceSignature")
          .withArgs(f.aliceDevice);
      }
    });

    it("rejects an invalid cell, and a zero location for a Coverage device", async function () {
      const f = await loadFixture(operatorFixture);
      await time.increase(COOLDOWN);
      const deadline = await nextDeadline();
      for (const location of [0n, withDigit(H3_CELL, 9, 0)]) {
        const signature = await signLocationUpdate(f.registry, alice1, location, deadline);
        await expect(f.registry.connect(f.alice).updateLocation(f.aliceDevice, location, deadline, signature))
          .to.be.revertedWithCustomError(f.registry, "InvalidLocation")
          .withArgs(ResourceClass.Coverage, location);
      }
    });

    it("lets a non-Coverage device set and clear its optional location", async function () {
      const f = await loadFixture(operatorFixture);
      const disk = await registerDevice(f.registry, f.alice, { label: "disk", resourceClass: ResourceClass.Storage });
      const diskKey = deviceWallet("disk");
      await time.increase(COOLDOWN);
      const deadline = BigInt(await time.latest()) + 10n * DAY;
      let signature = await signLocationUpdate(f.registry, diskKey, H3_CELL, deadline);
      await expect(f.registry.connect(f.alice).updateLocation(disk, H3_CELL, deadline, signature))
        .to.emit(f.registry, "LocationUpdated")
        .withArgs(disk, 0n, H3_CELL);
      await time.increase(COOLDOWN);
      signature = await signLocationUpdate(f.registry, diskKey, 0n, deadline);
      await expect(f.registry.connect(f.alice).updateLocation(disk, 0n, deadline, signature))
        .to.emit(f.registry, "LocationUpdated")
        .withArgs(disk, H3_CELL, 0n);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("updateMetadata", function () {
    it("sets and clears the metadata URI and emits MetadataUpdated", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.alice).updateMetadata(f.aliceDevice, "ipfs://new"))
        .to.emit(f.registry, "MetadataUpdated")
        .withArgs(f.aliceDevice, "ipfs://new");
      expect((await f.registry.getDevice(f.aliceDevice)).metadataURI).to.equal("ipfs://new");
      await expect(f.registry.connect(f.alice).updateMetadata(f.aliceDevice, ""))
        .to.emit(f.registry, "MetadataUpdated")
        .withArgs(f.aliceDevice, "");
      expect((await f.registry.getDevice(f.aliceDevice)).metadataURI).to.equal("");
    });

    it("reverts for a caller who is not the operator", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.bob).updateMetadata(f.aliceDevice, "x"))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });

    it("reverts for an unregistered device", async function () {
      const f = await loadFixture(operatorFixture);
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.alice).updateMetadata(ghost, "x"))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("offerTransfer / acceptTransfer", function () {
    it("offers an Active device and records the pending operator", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address))
        .to.emit(f.registry, "TransferOffered")
        .withArgs(f.aliceDevice, f.alice.address, f.bob.address);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.pendingOperator).to.equal(f.bob.address);
      expect(d.operator).to.equal(f.alice.address); // nothing moves before acceptance
    });

    it("moves the device and its capacity when the receiver accepts with enough stake", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await registerDevice(f.registry, f.alice, { label: "disk", resourceClass: ResourceClass.Storage, capacity: 50n });
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.emit(f.registry, "DeviceTransferred")
        .withArgs(f.aliceDevice, f.alice.address, f.bob.address);

      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.operator).to.equal(f.bob.address);
      expect(d.pendingOperator).to.equal(ethers.ZeroAddress);
      expect(d.status).to.equal(DeviceStatus.Active);
      expect(await f.registry.operatorOf(f.aliceDevice)).to.equal(f.bob.address);
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(0n);
      expect(await f.registry.capacityOf(f.bob.address, ResourceClass.Coverage)).to.equal(1n);
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Storage)).to.equal(50n);
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(5n * MESH);
      expect(await f.registry.requiredStake(f.bob.address)).to.equal(COVERAGE_STAKE);

      // Operator rights moved with the device.
      await expect(f.registry.connect(f.alice).updateMetadata(f.aliceDevice, "x"))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.alice.address);
      await f.registry.connect(f.bob).updateMetadata(f.aliceDevice, "bob's now");
      // The offer is consumed.
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });

    it("requires the receiver's self-stake to cover the added capacity", async function () {
      const f = await loadFixture(operatorFixture);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
        .withArgs(f.bob.address, 0n, COVERAGE_STAKE);
      await f.staking.connect(f.bob).stake(COVERAGE_STAKE - 1n);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
        .withArgs(f.bob.address, COVERAGE_STAKE - 1n, COVERAGE_STAKE);
      await f.staking.connect(f.bob).stake(1n);
      await f.registry.connect(f.bob).acceptTransfer(f.aliceDevice);
      expect(await f.registry.operatorOf(f.aliceDevice)).to.equal(f.bob.address);
    });

    it("requires the receiver's consent: nobody else can accept", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      for (const caller of [f.carol, f.alice]) {
        await expect(f.registry.connect(caller).acceptTransfer(f.aliceDevice))
          .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
          .withArgs(f.aliceDevice, caller.address);
      }
    });

    it("reverts NotPendingOperator when nothing was offered", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.bob).acceptTransfer(ghost))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(ghost, f.bob.address);
    });

    it("withdraws an offer with the zero address", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, ethers.ZeroAddress))
        .to.emit(f.registry, "TransferOffered")
        .withArgs(f.aliceDevice, f.alice.address, ethers.ZeroAddress);
      expect((await f.registry.getDevice(f.aliceDevice)).pendingOperator).to.equal(ethers.ZeroAddress);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });

    it("replaces an earlier offer with a new one", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.carol.address);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      expect((await f.registry.getDevice(f.aliceDevice)).pendingOperator).to.equal(f.carol.address);
    });

    it("reverts InvalidOperator when offering to oneself", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.alice.address))
        .to.be.revertedWithCustomError(f.registry, "InvalidOperator")
        .withArgs(f.alice.address);
    });

    it("reverts for a caller who is not the operator, or an unregistered device", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.bob).offerTransfer(f.aliceDevice, f.bob.address))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.alice).offerTransfer(ghost, f.bob.address))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost);
    });

    it("reverts InvalidStatus for Exiting and Removed devices", async function () {
      const f = await loadFixture(operatorFixture);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Exiting);
      await time.increase(UNBONDING);
      await f.registry.connect(f.alice).completeExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Removed);
    });

    it("drops a pending offer when the device begins its exit", async function () {
      const f = await loadFixture(twoOperatorsFixture);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      expect((await f.registry.getDevice(f.aliceDevice)).pendingOperator).to.equal(ethers.ZeroAddress);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("beginExit / completeExit", function () {
    it("beginExit moves an Active device to Exiting; its capacity still needs stake", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.alice).beginExit(f.aliceDevice))
        .to.emit(f.registry, "StatusChanged")
        .withArgs(f.aliceDevice, DeviceStatus.Active, DeviceStatus.Exiting);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.status).to.equal(DeviceStatus.Exiting);
      expect(d.statusSince).to.equal(BigInt(await time.latest()));
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(1n);
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(COVERAGE_STAKE);
    });

    it("completeExit reverts ExitNotReady until the unbonding period passes, then releases the capacity", async function () {
      const f = await loadFixture(operatorFixture);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      const readyAt = BigInt(await time.latest()) + UNBONDING;

      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "ExitNotReady")
        .withArgs(f.aliceDevice, readyAt);
      await time.setNextBlockTimestamp(readyAt - 1n);
      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "ExitNotReady")
        .withArgs(f.aliceDevice, readyAt);

      await time.setNextBlockTimestamp(readyAt);
      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.emit(f.registry, "StatusChanged")
        .withArgs(f.aliceDevice, DeviceStatus.Exiting, DeviceStatus.Removed);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.status).to.equal(DeviceStatus.Removed);
      expect(d.statusSince).to.equal(readyAt);
      expect(d.operator).to.equal(f.alice.address);
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(0n);
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(0n);
    });

    it("uses the current UnbondingPeriod", async function () {
      const f = await loadFixture(operatorFixture);
      await f.config.setParam(Param.UnbondingPeriod, 2n * DAY);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      const readyAt = BigInt(await time.latest()) + 2n * DAY;
      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "ExitNotReady")
        .withArgs(f.aliceDevice, readyAt);
      await time.increaseTo(readyAt);
      await f.registry.connect(f.alice).completeExit(f.aliceDevice);
      expect((await f.registry.getDevice(f.aliceDevice)).status).to.equal(DeviceStatus.Removed);
    });

    it("releases only the exiting device's capacity", async function () {
      const f = await loadFixture(operatorFixture);
      const second = await registerDevice(f.registry, f.alice, { label: "alice-2" });
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(2n);
      await f.registry.connect(f.alice).beginExit(second);
      await time.increase(UNBONDING);
      await f.registry.connect(f.alice).completeExit(second);
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(1n);
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(COVERAGE_STAKE);
    });

    it("beginExit reverts InvalidStatus unless the device is Active", async function () {
      const f = await loadFixture(operatorFixture);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).beginExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Exiting);
      await time.increase(UNBONDING);
      await f.registry.connect(f.alice).completeExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).beginExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Removed);
    });

    it("completeExit reverts InvalidStatus unless the device is Exiting", async function () {
      const f = await loadFixture(operatorFixture);
      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Active);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      await time.increase(UNBONDING);
      await f.registry.connect(f.alice).completeExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Removed);
      expect(await f.registry.capacityOf(f.alice.address, ResourceClass.Coverage)).to.equal(0n);
    });

    it("both revert for a caller who is not the operator, or an unregistered device", async function () {
      const f = await loadFixture(operatorFixture);
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.bob).beginExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.alice).beginExit(ghost))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      await time.increase(UNBONDING);
      await expect(f.registry.connect(f.bob).completeExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.alice).completeExit(ghost))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("jail / unjail", function () {
    it("governance grants JAILER_ROLE; only a role holder can jail", async function () {
      const f = await loadFixture(operatorFixture);
      const role = await f.registry.JAILER_ROLE();
      const until = BigInt(await time.latest()) + DAY;
      for (const caller of [f.governance, f.alice, f.outsider]) {
        await expect(f.registry.connect(caller).jail(f.aliceDevice, until))
          .to.be.revertedWithCustomError(f.registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
      }
      await expect(f.registry.connect(f.alice).grantRole(role, f.alice.address))
        .to.be.revertedWithCustomError(f.registry, "AccessControlUnauthorizedAccount")
        .withArgs(f.alice.address, await f.registry.DEFAULT_ADMIN_ROLE());
      await expect(f.registry.grantRole(role, f.fisher.address))
        .to.emit(f.registry, "RoleGranted")
        .withArgs(role, f.fisher.address, f.governance.address);
      await expect(f.registry.connect(f.fisher).jail(f.aliceDevice, until)).to.emit(f.registry, "DeviceJailed");
    });

    it("a revoked jailer can no longer jail", async function () {
      const f = await loadFixture(jailerFixture);
      const role = await f.registry.JAILER_ROLE();
      await f.registry.revokeRole(role, f.jailer.address);
      await expect(f.registry.connect(f.jailer).jail(f.aliceDevice, 1n))
        .to.be.revertedWithCustomError(f.registry, "AccessControlUnauthorizedAccount")
        .withArgs(f.jailer.address, role);
    });

    it("jails an Active device until the given time", async function () {
      const f = await loadFixture(jailerFixture);
      const until = BigInt(await time.latest()) + DAY;
      await expect(f.registry.connect(f.jailer).jail(f.aliceDevice, until))
        .to.emit(f.registry, "StatusChanged")
        .withArgs(f.aliceDevice, DeviceStatus.Active, DeviceStatus.Jailed)
        .and.to.emit(f.registry, "DeviceJailed")
        .withArgs(f.aliceDevice, until);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.status).to.equal(DeviceStatus.Jailed);
      expect(d.jailedUntil).to.equal(until);
      expect(d.statusSince).to.equal(BigInt(await time.latest()));
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(1n);
      // Jailed capacity still needs stake.
      expect(await f.registry.requiredStake(f.alice.address)).to.equal(COVERAGE_STAKE);
    });

    it("counts each jailed device of the operator", async function () {
      const f = await loadFixture(jailerFixture);
      const second = await registerDevice(f.registry, f.alice, { label: "alice-2" });
      const until = BigInt(await time.latest()) + DAY;
      await f.registry.connect(f.jailer).jail(f.aliceDevice, until);
      await f.registry.connect(f.jailer).jail(second, until);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(2n);
      await time.increaseTo(until);
      await f.registry.connect(f.alice).unjail(second);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(1n);
      await f.registry.connect(f.alice).unjail(f.aliceDevice);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(0n);
    });

    it("drops a pending transfer offer when jailing", async function () {
      const f = await loadFixture(jailerFixture);
      await f.staking.connect(f.bob).stake(1_000n * MESH);
      await f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address);
      await f.registry.connect(f.jailer).jail(f.aliceDevice, BigInt(await time.latest()) + DAY);
      expect((await f.registry.getDevice(f.aliceDevice)).pendingOperator).to.equal(ethers.ZeroAddress);
      await expect(f.registry.connect(f.bob).acceptTransfer(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotPendingOperator")
        .withArgs(f.aliceDevice, f.bob.address);
    });

    it("jail reverts InvalidStatus unless the device is Active", async function () {
      const f = await loadFixture(jailerFixture);
      const until = BigInt(await time.latest()) + DAY;
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.jailer).jail(ghost, until))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(ghost, DeviceStatus.None);

      await f.registry.connect(f.jailer).jail(f.aliceDevice, until);
      await expect(f.registry.connect(f.jailer).jail(f.aliceDevice, until + 1n))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Jailed);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(1n);

      const second = await registerDevice(f.registry, f.alice, { label: "alice-2" });
      await f.registry.connect(f.alice).beginExit(second);
      await expect(f.registry.connect(f.jailer).jail(second, until))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(second, DeviceStatus.Exiting);
    });

    it("a Jailed device cannot begin its exit or be offered", async function () {
      const f = await loadFixture(jailerFixture);
      await f.registry.connect(f.jailer).jail(f.aliceDevice, BigInt(await time.latest()) + DAY);
      await expect(f.registry.connect(f.alice).beginExit(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Jailed);
      await expect(f.registry.connect(f.alice).offerTransfer(f.aliceDevice, f.bob.address))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Jailed);
    });

    it("unjail reverts StillJailed before the jail time and succeeds exactly at it", async function () {
      const f = await loadFixture(jailerFixture);
      const until = BigInt(await time.latest()) + DAY;
      await f.registry.connect(f.jailer).jail(f.aliceDevice, until);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "StillJailed")
        .withArgs(f.aliceDevice, until);
      await time.setNextBlockTimestamp(until - 1n);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "StillJailed")
        .withArgs(f.aliceDevice, until);

      await time.setNextBlockTimestamp(until);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.emit(f.registry, "StatusChanged")
        .withArgs(f.aliceDevice, DeviceStatus.Jailed, DeviceStatus.Active);
      const d = await f.registry.getDevice(f.aliceDevice);
      expect(d.status).to.equal(DeviceStatus.Active);
      expect(d.jailedUntil).to.equal(0n);
      expect(d.statusSince).to.equal(until);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(0n);
    });

    it("unjail reverts InsufficientStake while the stake is short, then succeeds once topped up", async function () {
      const f = await loadFixture(jailerFixture);
      const until = BigInt(await time.latest()) + DAY;
      await f.registry.connect(f.jailer).jail(f.aliceDevice, until);
      await f.config.setClassParam(ResourceClass.Coverage, ClassParam.StakePerUnit, 2_000n * MESH);
      await time.increaseTo(until);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InsufficientStake")
        .withArgs(f.alice.address, 1_000n * MESH, 2_000n * MESH);
      expect((await f.registry.getDevice(f.aliceDevice)).status).to.equal(DeviceStatus.Jailed);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(1n);

      await f.staking.connect(f.alice).stake(1_000n * MESH);
      await f.registry.connect(f.alice).unjail(f.aliceDevice);
      expect(await f.registry.jailedDevices(f.alice.address)).to.equal(0n);
    });

    it("unjail reverts InvalidStatus unless the device is Jailed", async function () {
      const f = await loadFixture(jailerFixture);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Active);
      await f.registry.connect(f.alice).beginExit(f.aliceDevice);
      await expect(f.registry.connect(f.alice).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "InvalidStatus")
        .withArgs(f.aliceDevice, DeviceStatus.Exiting);
    });

    it("unjail reverts for a caller who is not the operator, or an unregistered device", async function () {
      const f = await loadFixture(jailerFixture);
      await f.registry.connect(f.jailer).jail(f.aliceDevice, BigInt(await time.latest()) + DAY);
      await time.increase(DAY);
      await expect(f.registry.connect(f.bob).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.bob.address);
      await expect(f.registry.connect(f.jailer).unjail(f.aliceDevice))
        .to.be.revertedWithCustomError(f.registry, "NotDeviceOperator")
        .withArgs(f.aliceDevice, f.jailer.address);
      const ghost = deviceWallet("ghost").address;
      await expect(f.registry.connect(f.alice).unjail(ghost))
        .to.be.revertedWithCustomError(f.registry, "DeviceNotRegistered")
        .withArgs(ghost);
    });

    it("an unjailed device can exit normally", async function () {
      const f = await loadFixture(jailerFixture);
      const until = BigInt(await time.latest()) + 3_600n;
      await f.registry.connect(f.jailer).jail(f.aliceDevice, until);
      await time.increaseTo(until);
      await f.registry.connect(f.alice).unjail(f.aliceDevice);
      await expect(f.registry.connect(f.alice).beginExit(f.aliceDevice))
        .to.emit(f.registry, "StatusChanged")
        .withArgs(f.aliceDevice, DeviceStatus.Active, DeviceStatus.Exiting);
    });
  });
});
