import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";

import { protocolFixture, DAY } from "../helpers/fixtures";

describe("EpochSeed", function () {
  it("records one seed per epoch, by anyone, and serves it afterwards", async function () {
    const f = await loadFixture(protocolFixture);
    const epoch = await f.config.currentEpoch();
    expect(await f.seeds.hasSeed(epoch)).to.equal(false);
    await expect(f.seeds.seedOf(epoch)).to.be.revertedWithCustomError(f.seeds, "SeedNotRecorded").withArgs(epoch);

    const seed = await f.seeds.connect(f.outsider).recordSeed.staticCall();
    await expect(f.seeds.connect(f.outsider).recordSeed()).to.emit(f.seeds, "SeedRecorded");
    const recorded = await f.seeds.seedOf(epoch);
    expect(recorded).to.not.equal("0x" + "00".repeat(32));
    expect(await f.seeds.hasSeed(epoch)).to.equal(true);
    // The static call ran one block earlier, so its value differs: the seed depends on the block it is fixed in.
    expect(recorded).to.not.equal(seed);

    await expect(f.seeds.recordSeed())
      .to.be.revertedWithCustomError(f.seeds, "SeedAlreadyRecorded")
      .withArgs(epoch, recorded);
  });

  it("gives every epoch its own seed", async function () {
    const f = await loadFixture(protocolFixture);
    const first = await f.config.currentEpoch();
    await f.seeds.recordSeed();
    await time.increase(DAY);
    await mine();
    await f.seeds.recordSeed();
    const [a, b] = [await f.seeds.seedOf(first), await f.seeds.seedOf(first + 1n)];
    expect(a).to.not.equal(b);
    await expect(f.seeds.seedOf(first + 2n)).to.be.revertedWithCustomError(f.seeds, "SeedNotRecorded");
  });
});
