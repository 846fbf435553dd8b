import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";

import {
  ChainDeviceDirectory,
  ChainEpochClock,
  ChainTime,
  ChainTimeNotReadyError,
  DeploymentFileError,
  DeviceIndex,
  checkDeployment,
  connectProtocol,
  epochWindow,
  isRevert,
  parseDeployment,
  readDeploymentFile,
  readEpochState,
  referenceBlock,
  type DeploymentFile,
  type DeviceReader,
  type ProtocolContracts,
} from "../../oracles/chain";
import { DEFAULT_CLASS_SPLIT } from "../../scripts/lib/deploy";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { deviceWallet } from "../helpers/devices";
import { DAY, MESH, protocolFixture, registerDevice, type ProtocolFixture } from "../helpers/fixtures";

/** The deployment file `scripts/deploy.ts` would write for the fixture's protocol. */
async function deploymentOf(f: ProtocolFixture): Promise<Record<string, unknown>> {
  return {
    chainId: 31337,
    deployer: f.governance.address,
    MeshToken: await f.token.getAddress(),
    ProtocolConfig: await f.config.getAddress(),
    ProviderRegistry: await f.registry.getAddress(),
    Staking: await f.staking.getAddress(),
    Slashing: await f.slashing.getAddress(),
    EmissionSchedule: await f.schedule.getAddress(),
    EpochSeed: await f.seeds.getAddress(),
    OracleHub: await f.hub.getAddress(),
    RewardsDistributor: await f.distributor.getAddress(),
    Marketplace: await f.marketplace.getAddress(),
  };
}

/** The fixture plus its contracts connected through the adapter to the bare provider (read-only). */
async function chainFixture(): Promise<ProtocolFixture & { deployment: DeploymentFile; contracts: ProtocolContracts }> {
  const f = await protocolFixture();
  const deployment = parseDeployment(await deploymentOf(f));
  return { ...f, deployment, contracts: connectProtocol(deployment, ethers.provider) };
}

/** The thrown error of `promise` (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

async function latestBlock(): Promise<{ number: number; timestamp: number }> {
  const block = await ethers.provider.getBlock("latest");
  if (block === null) throw new Error("no latest block");
  return block;
}

/** Mines one empty block at exactly `timestamp`; returns its number. */
async function mineAt(timestamp: bigint): Promise<number> {
  await time.setNextBlockTimestamp(timestamp);
  await mine();
  return (await latestBlock()).number;
}

describe("oracles/chain", function () {
  describe("deployment file", function () {
    let dir: string;
    before(function () {
      dir = mkdtempSync(join(tmpdir(), "meshwork-chain-"));
    });
    after(function () {
      rmSync(dir, { recursive: true, force: true });
    });

    function write(name: string, content: unknown): string {
      const file = join(dir, name);
      writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
      return file;
    }

    it("parses a good file and checksums every address", async function () {
      const f = await loadFixture(protocolFixture);
      const good = await deploymentOf(f);
      const lower = Object.fromEntries(
        Object.entries(good).map(([k, v]) => [k, typeof v === "string" ? v.toLowerCase() : v]),
      );
      const parsed = readDeploymentFile(write("good.json", { ...lower, extra: "ignored" }));
      expect(parsed).to.deep.equal(good);
    });

    it("names a bad address", async function () {
      const f = await loadFixture(protocolFixture);
      const file = write("bad.json", { ...(await deploymentOf(f)), OracleHub: "0x1234" });
      const error = thrown(() => readDeploymentFile(file));
      expect(error).to.be.instanceOf(DeploymentFileError);
      expect((error as Error).message).to.match(/OracleHub must be an address$/);
      expect((error as Error).message).to.not.include("\n");
      expect((error as DeploymentFileError).details.field).to.equal("OracleHub");
    });

    it("rejects a mixed-case address with a wrong checksum", async function () {
      const f = await loadFixture(protocolFixture);
      const token = await f.token.getAddress();
      const swapCase = (c: string): string => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase());
      const flipped = "0x" + [...token.slice(2)].map(swapCase).join("");
      const file = write("checksum.json", { ...(await deploymentOf(f)), MeshToken: flipped });
      const bad = thrown(() => readDeploymentFile(file));
      expect(bad).to.be.instanceOf(DeploymentFileError);
      expect((bad as Error).message).to.match(/MeshToken must be an address$/);
    });

    it("names a missing key, and reports unreadable or non-JSON files", async function () {
      const f = await loadFixture(protocolFixture);
      const { EpochSeed: _omitted, ...rest } = await deploymentOf(f);
      void _omitted;
      const missing = thrown(() => readDeploymentFile(write("missing.json", rest)));
      expect(missing).to.be.instanceOf(DeploymentFileError);
      expect((missing as Error).message).to.match(/: EpochSeed missing$/);

      const notJson = thrown(() => readDeploymentFile(write("broken.json", "{ not json")));
      expect((notJson as Error).message).to.match(/not valid JSON$/);
      const absent = thrown(() => readDeploymentFile(join(dir, "nope.json")));
      expect(absent).to.be.instanceOf(DeploymentFileError);
      expect((absent as Error).message).to.match(/cannot be read$/);
    });
  });

  describe("connectProtocol", function () {
    it("connects every contract, typed, to the runner", async function () {
      const f = await loadFixture(chainFixture);
      const c = f.contracts;
      expect(await c.config.epochLength()).to.equal(DAY);
      expect(await c.registry.operatorOf(f.aliceDevice)).to.equal(f.alice.address);
      expect(await c.token.totalSupply()).to.equal(await f.token.totalSupply());
      expect(await c.distributor.totalMinted()).to.equal(0n);
      expect((await c.hub.committeeAt(0)).threshold).to.equal(3n);
      expect(await c.staking.getAddress()).to.equal(f.deployment.Staking);
      expect(await c.slashing.getAddress()).to.equal(f.deployment.Slashing);
      expect(await c.schedule.emissionBudget()).to.equal(await f.schedule.emissionBudget());
      expect(await c.seeds.hasSeed(0)).to.equal(false);
      await checkDeployment(c, f.deployment);
    });

    it("checkDeployment rejects another chain id or an address without code", async function () {
      const f = await loadFixture(chainFixture);
      const otherChain = { ...f.deployment, chainId: 1 };
      const e1 = await failure(checkDeployment(connectProtocol(otherChain, ethers.provider), otherChain));
      expect((e1 as Error).message).to.include("chain 1");
      const empty = { ...f.deployment, Staking: f.outsider.address };
      const e2 = await failure(checkDeployment(connectProtocol(empty, ethers.provider), empty));
      expect(e2).to.be.instanceOf(DeploymentFileError);
      expect((e2 as Error).message).to.include("staking");
    });
  });

  describe("ChainDeviceDirectory", function () {
    /** The registry, counting `getDevice` calls. */
    function counting(f: ProtocolFixture): DeviceReader & { calls: number } {
      const reader = {
        calls: 0,
        getDevice: (device: string) => {
          reader.calls++;
          return f.registry.getDevice(device);
        },
      };
      return reader;
    }

    it("looks up known and unknown devices", async function () {
      const f = await loadFixture(chainFixture);
      const directory = new ChainDeviceDirectory(f.contracts.registry);
      expect(await directory.lookup(f.aliceDevice.toLowerCase())).to.deep.equal({
        operator: f.alice.address,
        resourceClass: ResourceClass.Coverage,
        status: DeviceStatus.Active,
        capacity: (await f.registry.getDevice(f.aliceDevice)).capacity,
      });
      expect(await directory.lookup(f.outsider.address)).to.equal(null);
      expect(await directory.lookup("not an address")).to.equal(null);
    });

    it("shares concurrent lookups and caches answers, unknown included, for ttlMs", async function () {
      const f = await loadFixture(chainFixture);
      const reader = counting(f);
      let clock = 1_000_000;
      const directory = new ChainDeviceDirectory(reader, { ttlMs: 5_000, now: () => clock });

      const burst = await Promise.all([
        directory.lookup(f.aliceDevice),
        directory.lookup(f.aliceDevice.toLowerCase()),
        directory.lookup(f.aliceDevice),
      ]);
      expect(reader.calls).to.equal(1);
      expect(burst.map((info) => info?.operator)).to.deep.equal([f.alice.address, f.alice.address, f.alice.address]);

      await directory.lookup(f.outsider.address);
      await directory.lookup(f.outsider.address);
      expect(reader.calls).to.equal(2);

      // bob registers a device after its "unknown" was cached: the answer holds until the TTL runs out.
      const bobKey = deviceWallet("bob-1").address;
      expect(await directory.lookup(bobKey)).to.equal(null);
      expect(reader.calls).to.equal(3);
      await f.staking.connect(f.bob).stake(1_000n * MESH);
      expect(await registerDevice(f.registry, f.bob, { label: "bob-1" })).to.equal(bobKey);
      clock += 4_999;
      expect(await directory.lookup(bobKey)).to.equal(null);
      expect(reader.calls).to.equal(3);
      clock += 1;
      expect((await directory.lookup(bobKey))?.operator).to.equal(f.bob.address);
      expect(reader.calls).to.equal(4);

      // alice's answer was cached at the same time and expired with it.
      await directory.lookup(f.aliceDevice);
      expect(reader.calls).to.equal(5);
      await directory.lookup(f.aliceDevice);
      expect(reader.calls).to.equal(5);
    });

    it("does not cache failures, and bounds its size", async function () {
      const f = await loadFixture(chainFixture);
      let fail = true;
      const reader: DeviceReader = {
        getDevice: (device: string) => (fail ? Promise.reject(new Error("rpc down")) : f.registry.getDevice(device)),
      };
      const directory = new ChainDeviceDirectory(reader, { maxEntries: 2 });
      expect(((await failure(directory.lookup(f.aliceDevice))) as Error).message).to.equal("rpc down");
      fail = false;
      expect(await directory.lookup(f.aliceDevice)).to.not.equal(null);
      for (const signer of [f.bob, f.carol, f.dave]) await directory.lookup(signer.address);
      expect(directory.size).to.equal(2);
    });
  });

  describe("ChainTime and epochs", function () {
    it("follows evm_increaseTime and extrapolates by whole wall-clock seconds, never backwards", async function () {
      await loadFixture(chainFixture);
      let wall = 50_000;
      const chainTime = new ChainTime(ethers.provider, { wallClock: () => wall });
      expect(thrown(() => chainTime.now())).to.be.instanceOf(ChainTimeNotReadyError);

      await chainTime.refresh();
      const t0 = BigInt(await time.latest());
      expect(chainTime.now()).to.equal(t0);
      wall += 2_999;
      expect(chainTime.now()).to.equal(t0 + 2n);

      await time.increase(3_600);
      await chainTime.refresh();
      expect(chainTime.now()).to.equal(BigInt(await time.latest()));
      expect(chainTime.now()).to.be.gte(t0 + 3_600n);

      // A block whose timestamp lies below the extrapolation does not move time back.
      const before = chainTime.now();
      wall += 100_000;
      const extrapolated = chainTime.now();
      expect(extrapolated).to.equal(before + 100n);
      await mine();
      await chainTime.refresh();
      expect(chainTime.now()).to.equal(extrapolated);
    });

    it("polls in the background until stopped", async function () {
      await loadFixture(chainFixture);
      const chainTime = new ChainTime(ethers.provider, { pollMs: 10 });
      await chainTime.start();
      try {
        await time.increase(DAY);
        const target = BigInt(await time.latest());
        for (let i = 0; i < 100 && chainTime.now() < target; i++) await new Promise((r) => setTimeout(r, 10));
        expect(chainTime.now()).to.be.gte(target);
      } finally {
        chainTime.stop();
      }
    });

    it("epochWindow and ChainEpochClock agree with ProtocolConfig", async function () {
      const f = await loadFixture(chainFixture);
      const clock = await ChainEpochClock.fromConfig(f.contracts.config);
      const genesis = await f.config.genesis();
      expect(clock.genesis).to.equal(genesis);
      expect(epochWindow(genesis, DAY, 0n)).to.deep.equal({ start: Number(genesis), end: Number(genesis + DAY) });
      for (const epoch of [0n, 1n, 7n]) {
        expect(BigInt(clock.window(epoch).end)).to.equal(await f.config.epochEnd(epoch));
      }
      await time.increase(3n * DAY + 5n);
      expect(clock.currentEpoch(BigInt(await time.latest()))).to.equal(await f.config.currentEpoch());
      expect(() => epochWindow(0n, 0n, 1n)).to.throw(RangeError);
    });
  });

  describe("referenceBlock", function () {
    it("is null until a block reaches the end, then the last block before it", async function () {
      const f = await loadFixture(chainFixture);
      const end = await f.config.epochEnd(0);
      expect(await referenceBlock(ethers.provider, end)).to.equal(null);

      const lastBefore = await mineAt(end - 10n);
      expect(await referenceBlock(ethers.provider, end)).to.equal(null);
      const exactlyAtEnd = await mineAt(end);
      await mine(20);
      expect(await referenceBlock(ethers.provider, end)).to.equal(lastBefore);
      expect(await referenceBlock(ethers.provider, end, lastBefore - 3)).to.equal(lastBefore);
      // A wrong hint (past the answer) falls back to a full search.
      expect(await referenceBlock(ethers.provider, end, exactlyAtEnd + 5)).to.equal(lastBefore);
      // The block at exactly `end` belongs to the next epoch; the one after `end - 1` is the reference.
      expect(await referenceBlock(ethers.provider, end + 1n)).to.equal(exactlyAtEnd);
    });

    it("straddling blocks: the reference is the block just before the end", async function () {
      const f = await loadFixture(chainFixture);
      const end = await f.config.epochEnd(0);
      const before = await mineAt(end - 1n);
      const after = await mineAt(end + 1n);
      expect(after).to.equal(before + 1);
      expect(await referenceBlock(ethers.provider, end)).to.equal(before);
    });

    it("takes O(log n) block reads", async function () {
      const f = await loadFixture(chainFixture);
      const end = await f.config.epochEnd(0);
      await mine(2_000);
      const before = await mineAt(end - 1n);
      await mine(2_000);
      let reads = 0;
      const counting = new Proxy(ethers.provider, {
        get(target, key, receiver) {
          if (key === "getBlock") reads++;
          return Reflect.get(target, key, receiver);
        },
      });
      expect(await referenceBlock(counting, end)).to.equal(before);
      expect(reads).to.be.lte(2 + Math.ceil(Math.log2(before + 2_000)) + 1);
    });
  });

  describe("DeviceIndex", function () {
    it("scans new registrations incrementally, in chunks", async function () {
      const f = await loadFixture(chainFixture);
      const index = new DeviceIndex(f.contracts.registry, { chunkSize: 3 });
      const first = (await latestBlock()).number;
      const atFirst = await index.devicesAt(first);
      expect(atFirst.map((d) => d.device)).to.deep.equal([f.aliceDevice]);
      expect(index.scannedThrough).to.equal(first);

      await f.staking.connect(f.bob).stake(1_000n * MESH);
      const bobDevices = [
        await registerDevice(f.registry, f.bob, {
          label: "bob-1",
          resourceClass: ResourceClass.Storage,
          capacity: 10n,
        }),
        await registerDevice(f.registry, f.bob, { label: "bob-2" }),
      ];
      const second = (await latestBlock()).number;
      const atSecond = await index.devicesAt(second);
      const expected = [f.aliceDevice, ...bobDevices].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1));
      expect(atSecond.map((d) => d.device)).to.deep.equal(expected);
      expect(index.scannedThrough).to.equal(second);
      const storage = atSecond.find((d) => d.device === bobDevices[0]);
      expect(storage).to.deep.equal({
        device: bobDevices[0],
        operator: f.bob.address,
        resourceClass: ResourceClass.Storage,
        status: DeviceStatus.Active,
        capacity: 10n,
      });
      // An earlier block still sees only what was registered by then.
      expect((await index.devicesAt(first)).map((d) => d.device)).to.deep.equal([f.aliceDevice]);
      expect(index.scannedThrough).to.equal(second);
    });

    it("reads state at the reference block: later jailing and registrations do not change it", async function () {
      const f = await loadFixture(chainFixture);
      const index = new DeviceIndex(f.contracts.registry);
      await f.registry.grantRole(await f.registry.JAILER_ROLE(), f.governance.address);
      const ref = (await latestBlock()).number;

      await f.registry.jail(f.aliceDevice, BigInt(await time.latest()) + DAY);
      await f.staking.connect(f.bob).stake(1_000n * MESH);
      await registerDevice(f.registry, f.bob, { label: "bob-late" });

      const latest = await index.devicesAt((await latestBlock()).number);
      expect(latest).to.have.length(2);
      expect(latest.find((d) => d.device === f.aliceDevice)?.status).to.equal(DeviceStatus.Jailed);

      const atRef = await index.devicesAt(ref);
      expect(atRef).to.deep.equal([
        {
          device: f.aliceDevice,
          operator: f.alice.address,
          resourceClass: ResourceClass.Coverage,
          status: DeviceStatus.Active,
          capacity: 1n,
        },
      ]);
    });
  });

  describe("readEpochState", function () {
    it("is null until the epoch closes, then matches direct contract calls at the reference block", async function () {
      const f = await loadFixture(chainFixture);
      const index = new DeviceIndex(f.contracts.registry);
      await f.seeds.recordSeed();
      expect(await readEpochState(f.contracts, index, 0n)).to.equal(null);

      const end = await f.config.epochEnd(0);
      const ref = await mineAt(end - 1n);
      await time.setNextBlockTimestamp(end + 60n);
      await f.registry.grantRole(await f.registry.JAILER_ROLE(), f.governance.address);
      await f.registry.jail(f.aliceDevice, end + DAY);
      await f.seeds.recordSeed(); // epoch 1's seed: not epoch 0's state

      const state = await readEpochState(f.contracts, index, 0n);
      if (state === null) throw new Error("epoch 0 has closed");
      expect(state.epoch).to.equal(0n);
      expect(state.referenceBlock).to.equal(ref);
      expect(state.window).to.deep.equal({ start: Number(await f.config.genesis()), end: Number(end) });
      expect(state.seed).to.equal(await f.seeds.seedOf(0));
      expect(state.cumulativeEmission).to.equal(await f.schedule.cumulativeEmission(1));
      expect(state.classSplitBps).to.deep.equal((await f.schedule.classSplitAt(0)).map(Number));
      expect(state.classSplitBps).to.deep.equal(DEFAULT_CLASS_SPLIT);
      expect(state.devices.map((d) => [d.device, d.status])).to.deep.equal([[f.aliceDevice, DeviceStatus.Active]]);

      // Epoch 1 has a seed but has not closed; epoch 2 will close without one.
      expect(await readEpochState(f.contracts, index, 1n)).to.equal(null);
      await time.increaseTo(await f.config.epochEnd(2));
      const epoch2 = await readEpochState(f.contracts, index, 2n, ref);
      expect(epoch2?.seed).to.equal(null);
      expect(epoch2?.cumulativeEmission).to.equal(await f.schedule.cumulativeEmission(3));
      expect(epoch2?.devices.map((d) => d.status)).to.deep.equal([DeviceStatus.Jailed]);
    });
  });

  describe("isRevert", function () {
    it("recognises custom errors of view calls and of transactions", async function () {
      const f = await loadFixture(chainFixture);
      const viewError = await failure(f.contracts.seeds.seedOf(5));
      expect(isRevert(viewError, "SeedNotRecorded")).to.equal(true);
      expect(isRevert(viewError, "SeedAlreadyRecorded")).to.equal(false);

      const seeds = f.contracts.seeds.connect(f.outsider);
      await seeds.recordSeed();
      const txError = await failure(seeds.recordSeed());
      expect(isRevert(txError, "SeedAlreadyRecorded")).to.equal(true);
      expect(isRevert(txError, "VerdictAlreadySubmitted")).to.equal(false);
      expect(isRevert(new Error("SeedAlreadyRecorded"), "SeedAlreadyRecorded")).to.equal(false);
      expect(isRevert(null, "SeedAlreadyRecorded")).to.equal(false);
    });

    it("reads ethers' decoded revert, wrapped errors, and extra decoders", async function () {
      const f = await loadFixture(chainFixture);
      const slashing = f.contracts.slashing.interface;
      const data = slashing.encodeErrorResult("FaultAlreadyPenalised", [ethers.ZeroHash]);
      // What ethers throws for a view call through a JSON-RPC provider: a CALL_EXCEPTION with `revert` decoded.
      const decoded = slashing.makeError(data, { to: f.deployment.Slashing, data: "0x" });
      expect(decoded.revert?.name).to.equal("FaultAlreadyPenalised");
      expect(isRevert(decoded, "FaultAlreadyPenalised")).to.equal(true);
      // Bubbled up through another contract and wrapped by a provider.
      expect(isRevert({ info: { error: { code: 3, data: { data } } } }, "FaultAlreadyPenalised")).to.equal(true);
      const foreign = new ethers.Interface(["error Foreign(uint256 x)"]);
      const foreignData = foreign.encodeErrorResult("Foreign", [1n]);
      expect(isRevert({ data: foreignData }, "Foreign")).to.equal(false);
      expect(isRevert({ data: foreignData }, "Foreign", foreign)).to.equal(true);
    });
  });
});
