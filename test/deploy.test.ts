import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";

import { coreFixture, operatorFixture, DeviceStatus } from "./helpers/fixtures";

describe("deployCore", function () {
  it("wires the contracts to each other and grants the slashing module its roles", async function () {
    const f = await loadFixture(coreFixture);
    expect(await f.registry.staking()).to.equal(await f.staking.getAddress());
    expect(await f.staking.registry()).to.equal(await f.registry.getAddress());
    expect(await f.staking.hasRole(await f.staking.SLASHER_ROLE(), f.slashing)).to.equal(true);
    expect(await f.registry.hasRole(await f.registry.JAILER_ROLE(), f.slashing)).to.equal(true);
    expect(await f.config.treasury()).to.equal(f.treasury.address);
  });

  it("lets an operator stake and register a device", async function () {
    const f = await loadFixture(operatorFixture);
    expect((await f.registry.getDevice(f.aliceDevice)).status).to.equal(DeviceStatus.Active);
  });
});
