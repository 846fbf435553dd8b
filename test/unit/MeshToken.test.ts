import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

import { MeshToken__factory, type MeshToken } from "../../typechain-types";
import { MESH, coreFixture } from "../helpers/fixtures";
import { signPermit, tokenDomain } from "../helpers/permit";

const MAX_SUPPLY = 1_000_000_000n * MESH;
const GENESIS = 100_000_000n * MESH;

/** A standalone token: `admin` governs, `alice` received the genesis supply, `minter` holds MINTER_ROLE. */
async function tokenFixture() {
  const [admin, minter, alice, bob, carol, outsider] = await ethers.getSigners();
  const token = await new MeshToken__factory(admin).deploy(admin.address, alice.address, GENESIS);
  await token.waitForDeployment();
  await token.grantRole(await token.MINTER_ROLE(), minter.address);
  return { token, admin, minter, alice, bob, carol, outsider };
}

const DELEGATION_TYPES = {
  Delegation: [
    { name: "delegatee", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "expiry", type: "uint256" },
  ],
};

async function signDelegation(
  token: MeshToken,
  signer: HardhatEthersSigner,
  delegatee: string,
  nonce: bigint,
  expiry: bigint,
) {
  const signature = await signer.signTypedData(await tokenDomain(token), DELEGATION_TYPES, { delegatee, nonce, expiry });
  return ethers.Signature.from(signature);
}

describe("MeshToken", function () {
  describe("deployment", function () {
    it("has the name, symbol, decimals and constants", async function () {
      const { token } = await loadFixture(tokenFixture);
      expect(await token.name()).to.equal("Meshwork");
      expect(await token.symbol()).to.equal("MESH");
      expect(await token.decimals()).to.equal(18n);
      expect(await token.MAX_SUPPLY()).to.equal(MAX_SUPPLY);
      expect(await token.MINTER_ROLE()).to.equal(ethers.id("MINTER_ROLE"));
    });

    it("mints the genesis supply to the recipient and counts it against the cap", async function () {
      const { token, admin, alice } = await loadFixture(tokenFixture);
      await expect(token.deploymentTransaction())
        .to.emit(token, "Transfer")
        .withArgs(ethers.ZeroAddress, alice.address, GENESIS);
      expect(await token.balanceOf(alice.address)).to.equal(GENESIS);
      expect(await token.balanceOf(admin.address)).to.equal(0n);
      expect(await token.totalSupply()).to.equal(GENESIS);
      expect(await token.totalMinted()).to.equal(GENESIS);
    });

    it("grants only the admin role to the admin; nobody can mint until granted", async function () {
      const { token, admin, alice } = await loadFixture(tokenFixture);
      expect(await token.hasRole(await token.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
      expect(await token.hasRole(await token.DEFAULT_ADMIN_ROLE(), alice.address)).to.equal(false);
      const fresh = await new MeshToken__factory(admin).deploy(admin.address, alice.address, 0n);
      expect(await fresh.hasRole(await fresh.MINTER_ROLE(), admin.address)).to.equal(false);
      await expect(fresh.mint(admin.address, 1n))
        .to.be.revertedWithCustomError(fresh, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await fresh.MINTER_ROLE());
    });

    it("deploys with a zero genesis supply (and then ignores the recipient)", async function () {
      const [admin] = await ethers.getSigners();
      const token = await new MeshToken__factory(admin).deploy(admin.address, ethers.ZeroAddress, 0n);
      await expect(token.deploymentTransaction()).not.to.emit(token, "Transfer");
      expect(await token.totalSupply()).to.equal(0n);
      expect(await token.totalMinted()).to.equal(0n);
      expect(await token.balanceOf(admin.address)).to.equal(0n);
    });

    it("deploys with the whole cap as genesis supply, leaving no room to mint", async function () {
      const [admin, minter] = await ethers.getSigners();
      const token = await new MeshToken__factory(admin).deploy(admin.address, admin.address, MAX_SUPPLY);
      expect(await token.totalMinted()).to.equal(MAX_SUPPLY);
      await token.grantRole(await token.MINTER_ROLE(), minter.address);
      await expect(token.connect(minter).mint(minter.address, 1n))
        .to.be.revertedWithCustomError(token, "SupplyCapExceeded")
        .withArgs(1n, MAX_SUPPLY, MAX_SUPPLY);
    });

    it("reverts SupplyCapExceeded for a genesis supply above the cap", async function () {
      const [admin] = await ethers.getSigners();
      const factory = new MeshToken__factory(admin);
      await expect(factory.deploy(admin.address, admin.address, MAX_SUPPLY + 1n))
        .to.be.revertedWithCustomError(factory, "SupplyCapExceeded")
        .withArgs(MAX_SUPPLY + 1n, 0n, MAX_SUPPLY);
    });

    it("reverts ERC20InvalidReceiver for a genesis supply sent to the zero address", async function () {
      const [admin] = await ethers.getSigners();
      const factory = new MeshToken__factory(admin);
      await expect(factory.deploy(admin.address, ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(factory, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });

    it("is deployed by deployCore with the 100M genesis supply to governance", async function () {
      const f = await loadFixture(coreFixture);
      expect(await f.token.totalMinted()).to.equal(GENESIS);
      expect(await f.token.totalSupply()).to.equal(GENESIS);
    });

    it("supports the AccessControl and ERC-165 interfaces", async function () {
      const { token } = await loadFixture(tokenFixture);
      expect(await token.supportsInterface("0x7965db0b")).to.equal(true);
      expect(await token.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await token.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("mint", function () {
    it("mints to any address and tracks the total ever minted", async function () {
      const { token, minter, bob } = await loadFixture(tokenFixture);
      await expect(token.connect(minter).mint(bob.address, 5n * MESH))
        .to.emit(token, "Transfer")
        .withArgs(ethers.ZeroAddress, bob.address, 5n * MESH);
      expect(await token.balanceOf(bob.address)).to.equal(5n * MESH);
      expect(await token.totalSupply()).to.equal(GENESIS + 5n * MESH);
      expect(await token.totalMinted()).to.equal(GENESIS + 5n * MESH);
    });

    it("is MINTER_ROLE only (the admin included)", async function () {
      const { token, admin, alice, outsider } = await loadFixture(tokenFixture);
      const role = await token.MINTER_ROLE();
      for (const caller of [admin, alice, outsider]) {
        await expect(token.connect(caller).mint(caller.address, 1n))
          .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
      }
      expect(await token.totalMinted()).to.equal(GENESIS);
    });

    it("stops once MINTER_ROLE is revoked", async function () {
      const { token, minter } = await loadFixture(tokenFixture);
      const role = await token.MINTER_ROLE();
      await expect(token.revokeRole(role, minter.address))
        .to.emit(token, "RoleRevoked")
        .withArgs(role, minter.address, (await ethers.getSigners())[0].address);
      await expect(token.connect(minter).mint(minter.address, 1n))
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(minter.address, role);
    });

    it("only the admin grants MINTER_ROLE", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      await expect(token.connect(alice).grantRole(await token.MINTER_ROLE(), alice.address))
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(alice.address, await token.DEFAULT_ADMIN_ROLE());
    });

    it("reverts ERC20InvalidReceiver when minting to the zero address", async function () {
      const { token, minter } = await loadFixture(tokenFixture);
      await expect(token.connect(minter).mint(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });

    it("reaches the cap exactly and reverts SupplyCapExceeded past it", async function () {
      const { token, minter, bob } = await loadFixture(tokenFixture);
      const room = MAX_SUPPLY - GENESIS;
      await expect(token.connect(minter).mint(bob.address, room + 1n))
        .to.be.revertedWithCustomError(token, "SupplyCapExceeded")
        .withArgs(room + 1n, GENESIS, MAX_SUPPLY);

      await token.connect(minter).mint(bob.address, room - 1n);
      await token.connect(minter).mint(bob.address, 1n); // the last wei under the cap
      expect(await token.totalMinted()).to.equal(MAX_SUPPLY);
      expect(await token.totalSupply()).to.equal(MAX_SUPPLY);

      await expect(token.connect(minter).mint(bob.address, 1n))
        .to.be.revertedWithCustomError(token, "SupplyCapExceeded")
        .withArgs(1n, MAX_SUPPLY, MAX_SUPPLY);
    });

    it("does not give room back under the cap after burns", async function () {
      const { token, minter, alice, bob } = await loadFixture(tokenFixture);
      await token.connect(minter).mint(bob.address, MAX_SUPPLY - GENESIS);
      await token.connect(alice).burn(GENESIS);
      expect(await token.totalSupply()).to.equal(MAX_SUPPLY - GENESIS);
      expect(await token.totalMinted()).to.equal(MAX_SUPPLY);
      await expect(token.connect(minter).mint(bob.address, 1n))
        .to.be.revertedWithCustomError(token, "SupplyCapExceeded")
        .withArgs(1n, MAX_SUPPLY, MAX_SUPPLY);
    });

    it("reverts SupplyCapExceeded (not an arithmetic panic) for an amount that overflows the running total", async function () {
      // IMeshToken: `mint` "reverts with SupplyCapExceeded past the cap". MeshToken._mintCapped computes
      // `totalMinted + amount` with checked arithmetic first, so a huge amount panics (0x11) instead.
      const { token, minter, bob } = await loadFixture(tokenFixture);
      await expect(token.connect(minter).mint(bob.address, ethers.MaxUint256))
        .to.be.revertedWithCustomError(token, "SupplyCapExceeded")
        .withArgs(ethers.MaxUint256, GENESIS, MAX_SUPPLY);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("burn / burnFrom", function () {
    it("burns the caller's tokens, lowering the supply but not totalMinted", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      await expect(token.connect(alice).burn(10n * MESH))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, ethers.ZeroAddress, 10n * MESH);
      expect(await token.balanceOf(alice.address)).to.equal(GENESIS - 10n * MESH);
      expect(await token.totalSupply()).to.equal(GENESIS - 10n * MESH);
      expect(await token.totalMinted()).to.equal(GENESIS);
    });

    it("reverts ERC20InsufficientBalance when burning more than the balance", async function () {
      const { token, alice, bob } = await loadFixture(tokenFixture);
      await expect(token.connect(bob).burn(1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(bob.address, 0n, 1n);
      await expect(token.connect(alice).burn(GENESIS + 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(alice.address, GENESIS, GENESIS + 1n);
    });

    it("burnFrom spends the allowance", async function () {
      const { token, alice, bob } = await loadFixture(tokenFixture);
      await token.connect(alice).approve(bob.address, 30n);
      await expect(token.connect(bob).burnFrom(alice.address, 31n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(bob.address, 30n, 31n);
      await expect(token.connect(bob).burnFrom(alice.address, 20n))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, ethers.ZeroAddress, 20n);
      expect(await token.allowance(alice.address, bob.address)).to.equal(10n);
      expect(await token.totalSupply()).to.equal(GENESIS - 20n);
      expect(await token.totalMinted()).to.equal(GENESIS);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("ERC-20 transfers", function () {
    it("transfers, approves and transfers from an allowance", async function () {
      const { token, alice, bob, carol } = await loadFixture(tokenFixture);
      await expect(token.connect(alice).transfer(bob.address, 100n))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, bob.address, 100n);
      await expect(token.connect(bob).approve(carol.address, 60n))
        .to.emit(token, "Approval")
        .withArgs(bob.address, carol.address, 60n);
      await token.connect(carol).transferFrom(bob.address, carol.address, 40n);
      expect(await token.balanceOf(bob.address)).to.equal(60n);
      expect(await token.balanceOf(carol.address)).to.equal(40n);
      expect(await token.allowance(bob.address, carol.address)).to.equal(20n);
    });

    it("reverts with the ERC-6093 errors", async function () {
      const { token, alice, bob, carol } = await loadFixture(tokenFixture);
      await expect(token.connect(bob).transfer(alice.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(bob.address, 0n, 1n);
      await expect(token.connect(alice).transfer(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
      await expect(token.connect(carol).transferFrom(alice.address, carol.address, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(carol.address, 0n, 1n);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("permit", function () {
    it("uses the EIP-712 domain 'Meshwork' version 1", async function () {
      const { token } = await loadFixture(tokenFixture);
      const domain = await tokenDomain(token);
      expect(domain.name).to.equal("Meshwork");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal((await ethers.provider.getNetwork()).chainId);
      expect(await token.DOMAIN_SEPARATOR()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
    });

    it("sets an allowance from the owner's signature and consumes the nonce", async function () {
      const { token, alice, bob, outsider } = await loadFixture(tokenFixture);
      const deadline = BigInt(await time.latest()) + 3_600n;
      const sig = await signPermit(token, alice, alice.address, bob.address, 500n, deadline);
      // Anyone may submit it.
      await expect(token.connect(outsider).permit(alice.address, bob.address, 500n, deadline, sig.v, sig.r, sig.s))
        .to.emit(token, "Approval")
        .withArgs(alice.address, bob.address, 500n);
      expect(await token.allowance(alice.address, bob.address)).to.equal(500n);
      expect(await token.nonces(alice.address)).to.equal(1n);
      await token.connect(bob).transferFrom(alice.address, bob.address, 500n);
      expect(await token.balanceOf(bob.address)).to.equal(500n);
    });

    it("reverts ERC2612ExpiredSignature after the deadline", async function () {
      const { token, alice, bob } = await loadFixture(tokenFixture);
      const deadline = BigInt(await time.latest()) + 10n;
      const sig = await signPermit(token, alice, alice.address, bob.address, 500n, deadline);
      await time.setNextBlockTimestamp(deadline + 1n);
      await expect(token.permit(alice.address, bob.address, 500n, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "ERC2612ExpiredSignature")
        .withArgs(deadline);
    });

    it("reverts ERC2612InvalidSigner for another signer, a replay or altered terms", async function () {
      const { token, alice, bob } = await loadFixture(tokenFixture);
      const deadline = BigInt(await time.latest()) + 3_600n;

      const byBob = await signPermit(token, bob, alice.address, bob.address, 500n, deadline);
      await expect(token.permit(alice.address, bob.address, 500n, deadline, byBob.v, byBob.r, byBob.s))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(bob.address, alice.address);

      const sig = await signPermit(token, alice, alice.address, bob.address, 500n, deadline);
      await expect(token.permit(alice.address, bob.address, 501n, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(anyValue, alice.address);

      await token.permit(alice.address, bob.address, 500n, deadline, sig.v, sig.r, sig.s);
      await expect(token.permit(alice.address, bob.address, 500n, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "ERC2612InvalidSigner")
        .withArgs(anyValue, alice.address);
      expect(await token.nonces(alice.address)).to.equal(1n);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("votes (timestamp clock)", function () {
    it("uses the block timestamp as its clock", async function () {
      const { token } = await loadFixture(tokenFixture);
      expect(await token.CLOCK_MODE()).to.equal("mode=timestamp");
      expect(await token.clock()).to.equal(BigInt(await time.latest()));
      await time.increase(1_000);
      expect(await token.clock()).to.equal(BigInt(await time.latest()));
    });

    it("counts no votes until the holder delegates", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      expect(await token.getVotes(alice.address)).to.equal(0n);
      expect(await token.delegates(alice.address)).to.equal(ethers.ZeroAddress);
      expect(await token.numCheckpoints(alice.address)).to.equal(0n);
    });

    it("self-delegation activates the balance as votes, checkpointed by timestamp", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      await expect(token.connect(alice).delegate(alice.address))
        .to.emit(token, "DelegateChanged")
        .withArgs(alice.address, ethers.ZeroAddress, alice.address)
        .and.to.emit(token, "DelegateVotesChanged")
        .withArgs(alice.address, 0n, GENESIS);
      const t = BigInt(await time.latest());
      expect(await token.delegates(alice.address)).to.equal(alice.address);
      expect(await token.getVotes(alice.address)).to.equal(GENESIS);
      expect(await token.numCheckpoints(alice.address)).to.equal(1n);
      const checkpoint = await token.checkpoints(alice.address, 0);
      expect(checkpoint._key).to.equal(t);
      expect(checkpoint._value).to.equal(GENESIS);

      await time.increase(100);
      expect(await token.getPastVotes(alice.address, t - 1n)).to.equal(0n);
      expect(await token.getPastVotes(alice.address, t)).to.equal(GENESIS);
      expect(await token.getPastVotes(alice.address, t + 50n)).to.equal(GENESIS);
    });

    it("moves votes with transfers and delegation changes, with history", async function () {
      const { token, alice, bob, carol } = await loadFixture(tokenFixture);
      await token.connect(alice).delegate(alice.address);
      await token.connect(bob).delegate(carol.address);
      await time.increase(10);

      await expect(token.connect(alice).transfer(bob.address, 1_000n))
        .to.emit(token, "DelegateVotesChanged")
        .withArgs(carol.address, 0n, 1_000n);
      const t1 = BigInt(await time.latest());
      expect(await token.getVotes(alice.address)).to.equal(GENESIS - 1_000n);
      expect(await token.getVotes(carol.address)).to.equal(1_000n);
      expect(await token.getVotes(bob.address)).to.equal(0n);

      await time.increase(10);
      await expect(token.connect(bob).delegate(bob.address))
        .to.emit(token, "DelegateChanged")
        .withArgs(bob.address, carol.address, bob.address);
      const t2 = BigInt(await time.latest());
      expect(await token.getVotes(carol.address)).to.equal(0n);
      expect(await token.getVotes(bob.address)).to.equal(1_000n);

      await time.increase(10);
      expect(await token.getPastVotes(carol.address, t1 - 1n)).to.equal(0n);
      expect(await token.getPastVotes(carol.address, t1)).to.equal(1_000n);
      expect(await token.getPastVotes(carol.address, t2)).to.equal(0n);
      expect(await token.getPastVotes(bob.address, t2 - 1n)).to.equal(0n);
      expect(await token.getPastVotes(alice.address, t1 - 1n)).to.equal(GENESIS);
      expect(await token.getPastVotes(alice.address, t1)).to.equal(GENESIS - 1_000n);
    });

    it("tracks past total supply through mints and burns", async function () {
      const { token, minter, alice } = await loadFixture(tokenFixture);
      const t0 = BigInt(await time.latest());
      await time.increase(10);
      await token.connect(minter).mint(alice.address, 7n * MESH);
      const t1 = BigInt(await time.latest());
      await time.increase(10);
      await token.connect(alice).burn(3n * MESH);
      const t2 = BigInt(await time.latest());
      await time.increase(10);
      expect(await token.getPastTotalSupply(t0)).to.equal(GENESIS);
      expect(await token.getPastTotalSupply(t1)).to.equal(GENESIS + 7n * MESH);
      expect(await token.getPastTotalSupply(t2)).to.equal(GENESIS + 4n * MESH);
    });

    it("burning lowers the burner's delegate's votes", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      await token.connect(alice).delegate(alice.address);
      await token.connect(alice).burn(MESH);
      expect(await token.getVotes(alice.address)).to.equal(GENESIS - MESH);
    });

    it("reverts ERC5805FutureLookup for a timepoint that is not yet past", async function () {
      const { token, alice } = await loadFixture(tokenFixture);
      const now = BigInt(await time.latest());
      await expect(token.getPastVotes(alice.address, now))
        .to.be.revertedWithCustomError(token, "ERC5805FutureLookup")
        .withArgs(now, now);
      await expect(token.getPastTotalSupply(now + 1_000n))
        .to.be.revertedWithCustomError(token, "ERC5805FutureLookup")
        .withArgs(now + 1_000n, now);
    });

    it("delegateBySig delegates for the signer and shares the permit nonce", async function () {
      const { token, alice, bob, outsider } = await loadFixture(tokenFixture);
      const expiry = BigInt(await time.latest()) + 3_600n;

      // A permit first consumes nonce 0.
      const permit = await signPermit(token, alice, alice.address, bob.address, 1n, expiry);
      await token.permit(alice.address, bob.address, 1n, expiry, permit.v, permit.r, permit.s);

      const stale = await signDelegation(token, alice, bob.address, 0n, expiry);
      await expect(token.connect(outsider).delegateBySig(bob.address, 0n, expiry, stale.v, stale.r, stale.s))
        .to.be.revertedWithCustomError(token, "InvalidAccountNonce")
        .withArgs(alice.address, 1n);

      const sig = await signDelegation(token, alice, bob.address, 1n, expiry);
      await expect(token.connect(outsider).delegateBySig(bob.address, 1n, expiry, sig.v, sig.r, sig.s))
        .to.emit(token, "DelegateChanged")
        .withArgs(alice.address, ethers.ZeroAddress, bob.address);
      expect(await token.delegates(alice.address)).to.equal(bob.address);
      expect(await token.getVotes(bob.address)).to.equal(GENESIS);
      expect(await token.nonces(alice.address)).to.equal(2n);
    });

    it("delegateBySig reverts VotesExpiredSignature after the expiry", async function () {
      const { token, alice, bob } = await loadFixture(tokenFixture);
      const expiry = BigInt(await time.latest()) + 10n;
      const sig = await signDelegation(token, alice, bob.address, 0n, expiry);
      await time.setNextBlockTimestamp(expiry + 1n);
      await expect(token.delegateBySig(bob.address, 0n, expiry, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(token, "VotesExpiredSignature")
        .withArgs(expiry);
    });
  });

  /* --------------------------------------------------------------------------------------------------------------- */

  describe("access control", function () {
    it("renounceRole needs the caller's own address as confirmation", async function () {
      const { token, minter, alice } = await loadFixture(tokenFixture);
      const role = await token.MINTER_ROLE();
      await expect(token.connect(alice).renounceRole(role, minter.address)).to.be.revertedWithCustomError(
        token,
        "AccessControlBadConfirmation",
      );
      await expect(token.connect(minter).renounceRole(role, minter.address))
        .to.emit(token, "RoleRevoked")
        .withArgs(role, minter.address, minter.address);
      expect(await token.hasRole(role, minter.address)).to.equal(false);
      expect(await token.getRoleAdmin(role)).to.equal(await token.DEFAULT_ADMIN_ROLE());
    });
  });
});
