import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

import { FeeOnTransferToken__factory, type FeeOnTransferToken } from "../../typechain-types";
import { DeviceStatus, FaultKind, H3_CELL, MESH, Param, ResourceClass, registerDevice } from "../helpers/fixtures";
import { H3_CELL_2, deviceWallet } from "../helpers/devices";
import { signPermit } from "../helpers/permit";
import {
  BID_DEPOSIT,
  BPS,
  COMMIT_WINDOW,
  LEASE_LEAF_ENCODING,
  LeaseStatus,
  MARKET_FEE_BPS,
  OrderStatus,
  REVEAL_WINDOW,
  SETTLEMENT_BOUNTY_BPS,
  SETTLEMENT_GRACE,
  SLA_BREACH_EPOCHS,
  UNREVEALED_FORFEIT_BPS,
  bidCommitment,
  commitBid,
  finaliseEpoch,
  leaseEvidence,
  leaseProof,
  marketFixture,
  orderTerms,
  postOrder,
  revealBid,
  runAuction,
  settleWith,
  sortAddresses,
  toClose,
  toReveal,
  type LeasesTree,
  type MarketFixture,
} from "../helpers/market";

/* CONSTANTS */

const PRICE = 8n * MESH; // alice's winning price in leaseFixture
const BOB_PRICE = 9n * MESH;
const ESCROW = 100n * MESH; // postOrder default: pays 10 epochs at the 10 MESH maximum
const FULL = 10_000n; // one epoch fully delivered, in bps
const fee = (paid: bigint) => (paid * MARKET_FEE_BPS) / BPS;
const bounty = (paid: bigint) => (paid * SETTLEMENT_BOUNTY_BPS) / BPS;

/** The res-7 parent of `cell` (an H3 region containing both H3_CELL and H3_CELL_2). */
function parentCell(cell: bigint, res: bigint): bigint {
  const RES_OFFSET = 52n;
  const resMask = 0xfn << RES_OFFSET;
  const unused = (1n << ((15n - res) * 3n)) - 1n;
  return (cell & ~resMask) | (res << RES_OFFSET) | unused;
}
const REGION_PARENT = parentCell(H3_CELL, 7n);

/* FIXTURES */

type OrderFixture = MarketFixture & { orderId: bigint; disk: string };

/** marketFixture plus carol's default order (Storage, 500 GiB, <= 10 MESH per epoch, 10 epochs, 100 MESH escrow). */
async function orderFixture(): Promise<OrderFixture> {
  const f = await marketFixture();
  const orderId = await postOrder(f, f.carol);
  return { ...f, orderId, disk: f.aliceDisks[0] };
}

type LeaseFixture = OrderFixture & { leaseId: bigint; startEpoch: bigint };

/** orderFixture auctioned: alice (8 MESH, one disk) beats bob (9 MESH): lease 1 runs epochs 1..10, escrow 80 MESH. */
async function leaseFixture(): Promise<LeaseFixture> {
  const f = await orderFixture();
  return leaseOf(f, f.orderId);
}

async function leaseOf(f: OrderFixture, orderId: bigint): Promise<LeaseFixture> {
  const a = await commitBid(f, orderId, f.alice, PRICE, [f.disk]);
  const b = await commitBid(f, orderId, f.bob, BOB_PRICE, [f.bobDisk]);
  await runAuction(f, orderId, [a, b]);
  const lease = await f.marketplace.getLease(orderId);
  return { ...f, orderId, leaseId: orderId, startEpoch: lease.startEpoch };
}

/** Like leaseFixture but a two-epoch term paid by a 20 MESH escrow: lease 1 runs epochs 1..2 (16 MESH). */
async function shortLeaseFixture(): Promise<LeaseFixture> {
  const f = await marketFixture();
  const orderId = await postOrder(f, f.carol, { durationEpochs: 2 }, 20n * MESH);
  return leaseOf({ ...f, orderId, disk: f.aliceDisks[0] }, orderId);
}

/** Like leaseFixture but a 50 MESH escrow: pays 6 of the 10 epochs (48 MESH), so lease 1 runs epochs 1..6. */
async function underfundedLeaseFixture(): Promise<LeaseFixture> {
  const f = await marketFixture();
  const orderId = await postOrder(f, f.carol, {}, 50n * MESH);
  return leaseOf({ ...f, orderId, disk: f.aliceDisks[0] }, orderId);
}

type TokenFixture = OrderFixture & { usd: FeeOnTransferToken; taxed: FeeOnTransferToken };

/** orderFixture plus two test tokens minted to carol and approved: `usd` (plain) and `taxed` (1 % transfer fee). */
async function tokenFixture(): Promise<TokenFixture> {
  const f = await orderFixture();
  const factory = new FeeOnTransferToken__factory(f.governance);
  const usd = await factory.deploy("Test USD", "USD", 0);
  const taxed = await factory.deploy("Taxed", "TAX", 100);
  for (const t of [usd, taxed]) {
    await t.mint(f.carol.address, 1_000_000n * MESH);
    await t.connect(f.carol).approve(f.marketplace, ethers.MaxUint256);
  }
  return { ...f, usd, taxed };
}

/* HELPERS */

/** Leaf values of lease `id` with the given cumulative delivered bps and breaches. */
const leaf = (id: bigint, delivered: bigint, breaches = 0n): [bigint, bigint, bigint] => [id, delivered, breaches];

/** Settles lease `value[0]` at epoch 1 with exactly the leaf `value` of `tree`. */
function settleValue(f: LeaseFixture, tree: LeasesTree, value: [bigint, bigint, bigint]) {
  for (const [i, v] of tree.entries()) {
    if (BigInt(v[0]) === value[0] && BigInt(v[1]) === value[1] && BigInt(v[2]) === value[2]) {
      return f.marketplace.settle(value[0], 1n, value[1], value[2], tree.getProof(i));
    }
  }
  throw new Error(`no leaf ${value.join(",")}`);
}


/* TESTS */

describe("Marketplace", function () {
  describe("deployment", function () {
    it("wires its dependencies and exposes its constants", async function () {
      const f = await loadFixture(marketFixture);
      const m = f.marketplace;
      expect(await m.mesh()).to.equal(await f.token.getAddress());
      expect(await m.config()).to.equal(await f.config.getAddress());
      expect(await m.registry()).to.equal(await f.registry.getAddress());
      expect(await m.staking()).to.equal(await f.staking.getAddress());
      expect(await m.hub()).to.equal(await f.hub.getAddress());
      expect(await m.MAX_BIDS()).to.equal(20n);
      expect(await m.MAX_LEASE_DEVICES()).to.equal(8n);
      expect(await m.MAX_REGION_CELLS()).to.equal(8n);
      expect(await m.SETTLEMENT_GRACE()).to.equal(SETTLEMENT_GRACE);
      expect(await m.orderCount()).to.equal(0n);
    });

    it("uses the ProtocolConfig market defaults these tests assume", async function () {
      const f = await loadFixture(marketFixture);
      expect(await f.config.param(Param.MarketFeeBps)).to.equal(MARKET_FEE_BPS);
      expect(await f.config.param(Param.BidDeposit)).to.equal(BID_DEPOSIT);
      expect(await f.config.param(Param.BidCommitWindow)).to.equal(COMMIT_WINDOW);
      expect(await f.config.param(Param.BidRevealWindow)).to.equal(REVEAL_WINDOW);
      expect(await f.config.param(Param.UnrevealedForfeitBps)).to.equal(UNREVEALED_FORFEIT_BPS);
      expect(await f.config.param(Param.SettlementBountyBps)).to.equal(SETTLEMENT_BOUNTY_BPS);
      expect(await f.config.param(Param.LeaseNoticeEpochs)).to.equal(1n);
      expect(await f.config.param(Param.SlaBreachEpochs)).to.equal(SLA_BREACH_EPOCHS);
    });

    it("leaseLeaf is the StandardMerkleTree leaf hash of (uint256, uint64, uint32)", async function () {
      const f = await loadFixture(marketFixture);
      const values: [bigint, bigint, bigint][] = [
        [1n, 0n, 0n],
        [7n, 123_456n, 3n],
        [2n ** 256n - 1n, 2n ** 64n - 1n, 2n ** 32n - 1n],
      ];
      const tree = StandardMerkleTree.of(values, LEASE_LEAF_ENCODING);
      for (const [i, v] of tree.entries()) {
        expect(await f.marketplace.leaseLeaf(v[0], v[1], v[2])).to.equal(tree.leafHash(v));
        expect(tree.verify(i, tree.getProof(i))).to.equal(true);
      }
    });

    it("bidCommitment is keccak256(abi.encode(orderId, provider, price, devices, salt))", async function () {
      const f = await loadFixture(marketFixture);
      const devices = sortAddresses([f.aliceDevice, f.alice.address]);
      const salt = ethers.id("salt");
      expect(await f.marketplace.bidCommitment(3n, f.alice.address, 5n * MESH, devices, salt)).to.equal(
        bidCommitment(3n, f.alice.address, 5n * MESH, devices, salt),
      );
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("postOrder", function () {
    it("records the order, opens its windows, pulls the escrow and emits OrderPosted", async function () {
      const f = await loadFixture(marketFixture);
      const terms = orderTerms(f, { region: [H3_CELL, REGION_PARENT], minDeliveryBps: 9_500 });
      const tx = f.marketplace.connect(f.carol).postOrder(terms, ESCROW);
      await expect(tx)
        .to.emit(f.marketplace, "OrderPosted")
        .withArgs(1n, f.carol.address, await f.token.getAddress(), ResourceClass.Storage, 500n, 10n, 10n * MESH, ESCROW);
      await expect(tx).to.changeTokenBalances(f.token, [f.carol, f.marketplace], [-ESCROW, ESCROW]);
      const postedAt = BigInt(await time.latest());

      expect(await f.marketplace.orderCount()).to.equal(1n);
      const o = await f.marketplace.getOrder(1n);
      expect(o.customer).to.equal(f.carol.address);
      expect(o.status).to.equal(OrderStatus.Open);
      expect(o.resourceClass).to.equal(ResourceClass.Storage);
      expect(o.minDeliveryBps).to.equal(9_500n);
      expect(o.durationEpochs).to.equal(10n);
      expect(o.capacity).to.equal(500n);
      expect(o.token).to.equal(await f.token.getAddress());
      expect(o.commitEndsAt).to.equal(postedAt + COMMIT_WINDOW);
      expect(o.revealEndsAt).to.equal(postedAt + COMMIT_WINDOW + REVEAL_WINDOW);
      expect(await f.marketplace.getBids(1n)).to.have.length(0);
      expect(o.maxPricePerEpoch).to.equal(10n * MESH);
      expect(o.minStake).to.equal(100n * MESH);
      expect(o.escrow).to.equal(ESCROW);
      expect(o.bidDeposit).to.equal(BID_DEPOSIT);
      expect(o.region).to.deep.equal([H3_CELL, REGION_PARENT]);
      expect(await f.marketplace.getBids(1n)).to.deep.equal([]);
    });

    it("numbers orders from 1 and accepts the boundaries (100 % service level, escrow of one epoch, 8 cells)", async function () {
      const f = await loadFixture(marketFixture);
      expect(await postOrder(f, f.carol)).to.equal(1n);
      const terms = orderTerms(f, { minDeliveryBps: 10_000, region: Array(8).fill(H3_CELL) });
      await expect(f.marketplace.connect(f.dave).postOrder(terms, 10n * MESH))
        .to.emit(f.marketplace, "OrderPosted")
        .withArgs(2n, f.dave.address, await f.token.getAddress(), ResourceClass.Storage, 500n, 10n, 10n * MESH, 10n * MESH);
      expect(await f.marketplace.orderCount()).to.equal(2n);
    });

    it("reverts TokenNotAllowed for a token that is neither MESH nor allowed", async function () {
      const f = await loadFixture(tokenFixture);
      await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { token: f.usd.target as string }), ESCROW))
        .to.be.revertedWithCustomError(f.marketplace, "TokenNotAllowed")
        .withArgs(await f.usd.getAddress());
      await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { token: ethers.ZeroAddress }), ESCROW))
        .to.be.revertedWithCustomError(f.marketplace, "TokenNotAllowed")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts InvalidOrderTerms for zero capacity, duration or price, or a service level above 100 %", async function () {
      const f = await loadFixture(marketFixture);
      for (const bad of [{ capacity: 0n }, { durationEpochs: 0 }, { maxPricePerEpoch: 0n }, { minDeliveryBps: 10_001 }]) {
        await expect(
          f.marketplace.connect(f.carol).postOrder(orderTerms(f, bad), ESCROW),
        ).to.be.revertedWithCustomError(f.marketplace, "InvalidOrderTerms");
      }
    });

    it("reverts InvalidRegion for a value that is not an H3 cell, or more than 8 cells", async function () {
      const f = await loadFixture(marketFixture);
      for (const [region, index] of [
        [[H3_CELL, 1n], 1n],
        [[0n], 0n],
        [[H3_CELL, H3_CELL_2, H3_CELL | (1n << 63n)], 2n],
        [Array(9).fill(H3_CELL), 8n],
      ] as [bigint[], bigint][]) {
        await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { region }), ESCROW))
          .to.be.revertedWithCustomError(f.marketplace, "InvalidRegion")
          .withArgs(index);
      }
    });

    it("reverts EscrowTooSmall when the escrow does not pay one epoch at the maximum price", async function () {
      const f = await loadFixture(marketFixture);
      await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f), 10n * MESH - 1n))
        .to.be.revertedWithCustomError(f.marketplace, "EscrowTooSmall")
        .withArgs(10n * MESH - 1n, 10n * MESH);
    });

    it("reverts with the token's error when the escrow is not approved", async function () {
      const f = await loadFixture(marketFixture);
      await expect(f.marketplace.connect(f.reporter).postOrder(orderTerms(f), ESCROW))
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
        .withArgs(await f.marketplace.getAddress(), 0n, ESCROW);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("payment tokens", function () {
    it("ProtocolConfig.setPaymentToken allows and disallows tokens (owner only, no-op and zero refused)", async function () {
      const f = await loadFixture(tokenFixture);
      const usd = await f.usd.getAddress();
      await expect(f.config.connect(f.carol).setPaymentToken(usd, true))
        .to.be.revertedWithCustomError(f.config, "OwnableUnauthorizedAccount")
        .withArgs(f.carol.address);
      await expect(f.config.setPaymentToken(usd, false))
        .to.be.revertedWithCustomError(f.config, "PaymentTokenUnchanged")
        .withArgs(usd, false);
      await expect(f.config.setPaymentToken(ethers.ZeroAddress, true)).to.be.revertedWithCustomError(
        f.config,
        "ZeroPaymentToken",
      );
      await expect(f.config.setPaymentToken(usd, true)).to.emit(f.config, "PaymentTokenSet").withArgs(usd, true);
      expect(await f.config.isPaymentToken(usd)).to.equal(true);
      await expect(f.config.setPaymentToken(usd, true))
        .to.be.revertedWithCustomError(f.config, "PaymentTokenUnchanged")
        .withArgs(usd, true);
      await expect(f.config.setPaymentToken(usd, false)).to.emit(f.config, "PaymentTokenSet").withArgs(usd, false);
      expect(await f.config.isPaymentToken(usd)).to.equal(false);
    });

    it("runs a whole lease in an allowed token: escrow, payment, refund, fees to the treasury", async function () {
      const f = await loadFixture(tokenFixture);
      await f.config.setPaymentToken(f.usd, true);
      const orderId = await postOrder(f, f.carol, { token: f.usd.target as string, durationEpochs: 2 }, 30n * MESH);
      expect(await f.usd.balanceOf(f.marketplace)).to.equal(30n * MESH);
      // Bid deposits stay in MESH.
      const bid = await commitBid(f, orderId, f.alice, PRICE, [f.disk]);
      expect(await f.token.balanceOf(f.marketplace)).to.equal(ESCROW + BID_DEPOSIT); // + carol's MESH order 1
      await runAuction(f, orderId, [bid]);
      expect(await f.marketplace.credit(f.carol.address, f.usd)).to.equal(14n * MESH); // 30 - 2 x 8
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT);

      // Governance may disallow the token again: running leases still settle in it.
      await f.config.setPaymentToken(f.usd, false);
      await finaliseEpoch(f, 1n, { leases: [leaf(orderId, FULL)] });
      const trees = await finaliseEpoch(f, 2n, { leases: [leaf(orderId, FULL + FULL / 2n, 1n)] });
      await expect(settleWith(f, f.alice, orderId, 2n, trees.leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(orderId, 2n, 2n, 12n * MESH, 4n * MESH, fee(12n * MESH), 0n, f.alice.address);
      expect(await f.marketplace.credit(f.alice.address, f.usd)).to.equal(12n * MESH - fee(12n * MESH));
      expect(await f.marketplace.credit(f.carol.address, f.usd)).to.equal(18n * MESH);
      expect(await f.marketplace.feesAccrued(f.usd)).to.equal(fee(12n * MESH));

      await expect(f.marketplace.connect(f.alice).withdraw(f.usd)).to.changeTokenBalances(
        f.usd,
        [f.alice, f.marketplace],
        [12n * MESH - fee(12n * MESH), -(12n * MESH - fee(12n * MESH))],
      );
      await expect(f.marketplace.connect(f.carol).withdraw(f.usd)).to.changeTokenBalance(f.usd, f.carol, 18n * MESH);
      await expect(f.marketplace.connect(f.outsider).sweepFees(f.usd))
        .to.emit(f.marketplace, "FeesSwept")
        .withArgs(await f.usd.getAddress(), f.treasury.address, fee(12n * MESH));
      expect(await f.usd.balanceOf(f.treasury)).to.equal(fee(12n * MESH));
      expect(await f.usd.balanceOf(f.marketplace)).to.equal(0n);
      await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { token: f.usd.target as string }), ESCROW))
        .to.be.revertedWithCustomError(f.marketplace, "TokenNotAllowed")
        .withArgs(await f.usd.getAddress());
    });

    it("refuses a fee-on-transfer token with TransferShortfall", async function () {
      const f = await loadFixture(tokenFixture);
      await f.config.setPaymentToken(f.taxed, true);
      await expect(f.marketplace.connect(f.carol).postOrder(orderTerms(f, { token: f.taxed.target as string }), ESCROW))
        .to.be.revertedWithCustomError(f.marketplace, "TransferShortfall")
        .withArgs(await f.taxed.getAddress(), ESCROW, ESCROW - ESCROW / 100n);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("postOrderWithPermit", function () {
    async function permit(f: MarketFixture, value: bigint, deadline: bigint) {
      const owner = f.reporter; // holds MESH, never approved the marketplace
      return signPermit(f.token, owner, owner.address, await f.marketplace.getAddress(), value, deadline);
    }

    it("posts the order with a MESH permit instead of an approval", async function () {
      const f = await loadFixture(marketFixture);
      const deadline = BigInt(await time.latest()) + 3_600n;
      const sig = await permit(f, ESCROW, deadline);
      const tx = f.marketplace.connect(f.reporter).postOrderWithPermit(orderTerms(f), ESCROW, deadline, sig.v, sig.r, sig.s);
      await expect(tx).to.emit(f.marketplace, "OrderPosted");
      await expect(tx).to.changeTokenBalances(f.token, [f.reporter, f.marketplace], [-ESCROW, ESCROW]);
      expect(await f.token.nonces(f.reporter.address)).to.equal(1n);
      expect(await f.token.allowance(f.reporter.address, f.marketplace)).to.equal(0n);
      expect((await f.marketplace.getOrder(1n)).customer).to.equal(f.reporter.address);
    });

    it("still posts when someone front-ran the permit (the allowance is there)", async function () {
      const f = await loadFixture(marketFixture);
      const deadline = BigInt(await time.latest()) + 3_600n;
      const sig = await permit(f, ESCROW, deadline);
      await f.token.connect(f.outsider).permit(f.reporter.address, f.marketplace, ESCROW, deadline, sig.v, sig.r, sig.s);
      await expect(
        f.marketplace.connect(f.reporter).postOrderWithPermit(orderTerms(f), ESCROW, deadline, sig.v, sig.r, sig.s),
      ).to.changeTokenBalance(f.token, f.marketplace, ESCROW);
    });

    it("reverts on the transfer when the permit is invalid and there is no allowance", async function () {
      const f = await loadFixture(marketFixture);
      const deadline = BigInt(await time.latest()) + 3_600n;
      const sig = await permit(f, ESCROW - 1n, deadline); // signed for another value
      await expect(
        f.marketplace.connect(f.reporter).postOrderWithPermit(orderTerms(f), ESCROW, deadline, sig.v, sig.r, sig.s),
      )
        .to.be.revertedWithCustomError(f.token, "ERC20InsufficientAllowance")
        .withArgs(await f.marketplace.getAddress(), 0n, ESCROW);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("cancelOrder", function () {
    it("credits the escrow back to the customer and closes the order", async function () {
      const f = await loadFixture(orderFixture);
      await expect(f.marketplace.connect(f.carol).cancelOrder(f.orderId))
        .to.emit(f.marketplace, "OrderCancelled")
        .withArgs(f.orderId);
      const o = await f.marketplace.getOrder(f.orderId);
      expect(o.status).to.equal(OrderStatus.Cancelled);
      expect(o.escrow).to.equal(0n);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW);
      await expect(f.marketplace.connect(f.carol).withdraw(f.token))
        .to.emit(f.marketplace, "Withdrawn")
        .withArgs(f.carol.address, await f.token.getAddress(), ESCROW);
      expect(await f.token.balanceOf(f.marketplace)).to.equal(0n);
    });

    it("reverts NotCustomer, OrderHasBids, UnknownOrder and OrderNotOpen", async function () {
      const f = await loadFixture(orderFixture);
      await expect(f.marketplace.connect(f.dave).cancelOrder(f.orderId))
        .to.be.revertedWithCustomError(f.marketplace, "NotCustomer")
        .withArgs(f.dave.address);
      await expect(f.marketplace.connect(f.carol).cancelOrder(99n))
        .to.be.revertedWithCustomError(f.marketplace, "UnknownOrder")
        .withArgs(99n);
      await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await expect(f.marketplace.connect(f.carol).cancelOrder(f.orderId))
        .to.be.revertedWithCustomError(f.marketplace, "OrderHasBids")
        .withArgs(f.orderId);

      const other = await postOrder(f, f.carol);
      await f.marketplace.connect(f.carol).cancelOrder(other);
      await expect(f.marketplace.connect(f.carol).cancelOrder(other))
        .to.be.revertedWithCustomError(f.marketplace, "OrderNotOpen")
        .withArgs(other, OrderStatus.Cancelled);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("commitBid", function () {
    it("records the sealed bid, pulls the MESH deposit and emits BidCommitted", async function () {
      const f = await loadFixture(orderFixture);
      const salt = ethers.id("s");
      const commitment = bidCommitment(f.orderId, f.alice.address, PRICE, [f.disk], salt);
      expect(await f.marketplace.connect(f.alice).commitBid.staticCall(f.orderId, commitment)).to.equal(0n);
      const tx = f.marketplace.connect(f.alice).commitBid(f.orderId, commitment);
      await expect(tx).to.emit(f.marketplace, "BidCommitted").withArgs(f.orderId, 0n, f.alice.address, commitment);
      await expect(tx).to.changeTokenBalances(f.token, [f.alice, f.marketplace], [-BID_DEPOSIT, BID_DEPOSIT]);
      await expect(f.marketplace.connect(f.bob).commitBid(f.orderId, ethers.id("b")))
        .to.emit(f.marketplace, "BidCommitted")
        .withArgs(f.orderId, 1n, f.bob.address, ethers.id("b"));

      const bids = await f.marketplace.getBids(f.orderId);
      expect(bids.length).to.equal(2);
      expect(bids[0].provider).to.equal(f.alice.address);
      expect(bids[0].revealed).to.equal(false);
      expect(bids[0].pricePerEpoch).to.equal(0n);
      expect(bids[0].commitment).to.equal(commitment);
      expect(bids[0].devices).to.deep.equal([]);
      expect(await f.marketplace.getBids(f.orderId)).to.have.length(2);
    });

    it("uses the deposit in force when the order was posted (none if it was zero)", async function () {
      const f = await loadFixture(marketFixture);
      await f.config.setParam(Param.BidDeposit, 0n);
      const free = await postOrder(f, f.carol);
      await f.config.setParam(Param.BidDeposit, 7n * MESH);
      await expect(f.marketplace.connect(f.alice).commitBid(free, ethers.id("x"))).to.changeTokenBalance(
        f.token,
        f.alice,
        0n,
      );
      const paid = await postOrder(f, f.carol);
      await expect(f.marketplace.connect(f.alice).commitBid(paid, ethers.id("y"))).to.changeTokenBalance(
        f.token,
        f.alice,
        -7n * MESH,
      );
    });

    it("reverts AlreadyBid, SelfBid, UnknownOrder and CommitWindowClosed (at its closing second)", async function () {
      const f = await loadFixture(orderFixture);
      await f.marketplace.connect(f.alice).commitBid(f.orderId, ethers.id("a"));
      await expect(f.marketplace.connect(f.alice).commitBid(f.orderId, ethers.id("a2")))
        .to.be.revertedWithCustomError(f.marketplace, "AlreadyBid")
        .withArgs(f.orderId, f.alice.address);
      await expect(f.marketplace.connect(f.carol).commitBid(f.orderId, ethers.id("c")))
        .to.be.revertedWithCustomError(f.marketplace, "SelfBid")
        .withArgs(f.orderId);
      await expect(f.marketplace.connect(f.bob).commitBid(7n, ethers.id("b")))
        .to.be.revertedWithCustomError(f.marketplace, "UnknownOrder")
        .withArgs(7n);

      const { commitEndsAt } = await f.marketplace.getOrder(f.orderId);
      await time.setNextBlockTimestamp(commitEndsAt - 1n);
      await f.marketplace.connect(f.bob).commitBid(f.orderId, ethers.id("b")); // last second
      await time.setNextBlockTimestamp(commitEndsAt);
      await expect(f.marketplace.connect(f.dave).commitBid(f.orderId, ethers.id("d")))
        .to.be.revertedWithCustomError(f.marketplace, "CommitWindowClosed")
        .withArgs(f.orderId, commitEndsAt);
    });

    it("reverts TooManyBids for the 21st bid (MAX_BIDS = 20)", async function () {
      const f = await loadFixture(orderFixture);
      const bidders = Array.from(
        { length: 21 },
        (_, i) => new ethers.Wallet(ethers.id(`market-test-bidder:${i}`), ethers.provider),
      );
      for (const b of bidders) {
        await setBalance(b.address, 10n ** 18n);
        await f.token.transfer(b.address, BID_DEPOSIT);
        await f.token.connect(b).approve(f.marketplace, ethers.MaxUint256);
      }
      for (const [i, b] of bidders.slice(0, 20).entries()) {
        await expect(f.marketplace.connect(b).commitBid(f.orderId, ethers.id(`${i}`)))
          .to.emit(f.marketplace, "BidCommitted")
          .withArgs(f.orderId, BigInt(i), b.address, ethers.id(`${i}`));
      }
      await expect(f.marketplace.connect(bidders[20]).commitBid(f.orderId, ethers.id("20")))
        .to.be.revertedWithCustomError(f.marketplace, "TooManyBids")
        .withArgs(f.orderId);
      expect(await f.marketplace.getBids(f.orderId)).to.have.length(20);
      // None revealed: each deposit comes back less the forfeit.
      await toClose(f, f.orderId);
      await expect(f.marketplace.closeAuction(f.orderId)).to.emit(f.marketplace, "OrderUnfilled").withArgs(f.orderId);
      expect(await f.marketplace.feesAccrued(f.token)).to.equal((20n * BID_DEPOSIT * UNREVEALED_FORFEIT_BPS) / BPS);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("revealBid", function () {
    it("reveals a qualifying bid in the reveal window and emits BidRevealed", async function () {
      const f = await loadFixture(orderFixture);
      await commitBid(f, f.orderId, f.bob, BOB_PRICE, [f.bobDisk]);
      const bid = await commitBid(f, f.orderId, f.alice, PRICE, f.aliceDisks);
      await toReveal(f, f.orderId);
      await expect(revealBid(f, f.orderId, bid))
        .to.emit(f.marketplace, "BidRevealed")
        .withArgs(f.orderId, 1n, f.alice.address, PRICE);
      const stored = (await f.marketplace.getBids(f.orderId))[1];
      expect(stored.revealed).to.equal(true);
      expect(stored.pricePerEpoch).to.equal(PRICE);
      expect(stored.devices).to.deep.equal(f.aliceDisks);
    });

    it("reverts RevealWindowNotOpen before the commit window closes and from the reveal deadline on", async function () {
      const f = await loadFixture(orderFixture);
      const bid = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const { commitEndsAt, revealEndsAt } = await f.marketplace.getOrder(f.orderId);
      await time.setNextBlockTimestamp(commitEndsAt - 1n);
      await expect(revealBid(f, f.orderId, bid))
        .to.be.revertedWithCustomError(f.marketplace, "RevealWindowNotOpen")
        .withArgs(f.orderId, commitEndsAt, revealEndsAt);
      await time.setNextBlockTimestamp(revealEndsAt);
      await expect(revealBid(f, f.orderId, bid))
        .to.be.revertedWithCustomError(f.marketplace, "RevealWindowNotOpen")
        .withArgs(f.orderId, commitEndsAt, revealEndsAt);
    });

    it("reveals at the first and last second of the window", async function () {
      const f = await loadFixture(orderFixture);
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const b = await commitBid(f, f.orderId, f.bob, BOB_PRICE, [f.bobDisk]);
      const { commitEndsAt, revealEndsAt } = await f.marketplace.getOrder(f.orderId);
      await time.setNextBlockTimestamp(commitEndsAt);
      await expect(revealBid(f, f.orderId, a)).to.emit(f.marketplace, "BidRevealed");
      await time.setNextBlockTimestamp(revealEndsAt - 1n);
      await expect(revealBid(f, f.orderId, b)).to.emit(f.marketplace, "BidRevealed");
    });

    it("reverts NoBid, AlreadyRevealed and CommitmentMismatch", async function () {
      const f = await loadFixture(orderFixture);
      const bid = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await toReveal(f, f.orderId);
      await expect(f.marketplace.connect(f.bob).revealBid(f.orderId, PRICE, [f.bobDisk], bid.salt))
        .to.be.revertedWithCustomError(f.marketplace, "NoBid")
        .withArgs(f.orderId, f.bob.address);
      for (const wrong of [
        { ...bid, salt: ethers.id("other") },
        { ...bid, price: PRICE - 1n },
        { ...bid, devices: [f.aliceDisks[1]] },
      ]) {
        await expect(revealBid(f, f.orderId, wrong))
          .to.be.revertedWithCustomError(f.marketplace, "CommitmentMismatch")
          .withArgs(f.orderId, f.alice.address);
      }
      await revealBid(f, f.orderId, bid);
      await expect(revealBid(f, f.orderId, bid))
        .to.be.revertedWithCustomError(f.marketplace, "AlreadyRevealed")
        .withArgs(f.orderId, f.alice.address);
    });

    it("reverts PriceOutOfRange for a zero price or one above the order's maximum", async function () {
      const f = await loadFixture(orderFixture);
      const zero = await commitBid(f, f.orderId, f.alice, 0n, [f.disk]);
      const high = await commitBid(f, f.orderId, f.bob, 10n * MESH + 1n, [f.bobDisk]);
      await toReveal(f, f.orderId);
      await expect(revealBid(f, f.orderId, zero))
        .to.be.revertedWithCustomError(f.marketplace, "PriceOutOfRange")
        .withArgs(0n, 10n * MESH);
      await expect(revealBid(f, f.orderId, high))
        .to.be.revertedWithCustomError(f.marketplace, "PriceOutOfRange")
        .withArgs(10n * MESH + 1n, 10n * MESH);
    });

    describe("qualification", function () {
      /** Commits alice's bid with `devices` on a fresh order with `overrides` and returns its reveal. */
      async function revealAlice(f: OrderFixture, devices: string[], overrides = {}) {
        const orderId = Object.keys(overrides).length ? await postOrder(f, f.carol, overrides) : f.orderId;
        const bid = await commitBid(f, orderId, f.alice, PRICE, devices);
        await toReveal(f, orderId);
        return { orderId, tx: revealBid(f, orderId, bid) };
      }

      it("reverts InvalidDeviceList for an empty list", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, []);
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "InvalidDeviceList");
      });

      it("reverts InvalidDeviceList for more than MAX_LEASE_DEVICES devices", async function () {
        const f = await loadFixture(orderFixture);
        const nine = sortAddresses(Array.from({ length: 9 }, (_, i) => deviceWallet(`market-many-${i}`).address));
        const { tx } = await revealAlice(f, nine);
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "InvalidDeviceList");
      });

      it("reverts InvalidDeviceList for devices not strictly ascending (unsorted or repeated)", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, [...f.aliceDisks].reverse());
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "InvalidDeviceList");
        const { tx: twice } = await revealAlice(f, [f.disk, f.disk], { capacity: 400n });
        await expect(twice).to.be.revertedWithCustomError(f.marketplace, "InvalidDeviceList");
      });

      it("reverts NotDeviceOperator for another operator's device or an unregistered one", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, [f.bobDisk]);
        await expect(tx)
          .to.be.revertedWithCustomError(f.marketplace, "NotDeviceOperator")
          .withArgs(f.bobDisk, f.alice.address);
        const ghost = ethers.Wallet.createRandom().address;
        const { tx: tx2 } = await revealAlice(f, [ghost], { capacity: 1n });
        await expect(tx2)
          .to.be.revertedWithCustomError(f.marketplace, "NotDeviceOperator")
          .withArgs(ghost, f.alice.address);
      });

      it("reverts DeviceNotActive for an exiting device", async function () {
        const f = await loadFixture(orderFixture);
        await f.registry.connect(f.alice).beginExit(f.disk);
        const { tx } = await revealAlice(f, [f.disk]);
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "DeviceNotActive").withArgs(f.disk);
      });

      it("reverts WrongResourceClass for a device of another class", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, [f.aliceDevice]);
        await expect(tx)
          .to.be.revertedWithCustomError(f.marketplace, "WrongResourceClass")
          .withArgs(f.aliceDevice, ResourceClass.Coverage);
      });

      it("accepts a ComputeCpu device on a ComputeCpu order and refuses a disk there", async function () {
        const f = await loadFixture(orderFixture);
        const cpuOrder = await postOrder(f, f.carol, { resourceClass: ResourceClass.ComputeCpu, capacity: 8n });
        const ok = await commitBid(f, cpuOrder, f.bob, PRICE, [f.bobCpu]);
        const bad = await commitBid(f, cpuOrder, f.alice, PRICE, [f.disk]);
        await toReveal(f, cpuOrder);
        await expect(revealBid(f, cpuOrder, ok)).to.emit(f.marketplace, "BidRevealed");
        await expect(revealBid(f, cpuOrder, bad))
          .to.be.revertedWithCustomError(f.marketplace, "WrongResourceClass")
          .withArgs(f.disk, ResourceClass.Storage);
      });

      it("reverts DeviceLeased for a device bound to an active lease", async function () {
        const f = await loadFixture(leaseFixture);
        const { tx } = await revealAlice(f, [f.disk], { capacity: 500n });
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "DeviceLeased").withArgs(f.disk, f.leaseId);
      });

      it("reverts OutsideRegion for a device located elsewhere or without a location", async function () {
        const f = await loadFixture(orderFixture);
        const away = await registerDevice(f.registry, f.alice, {
          label: "market-alice-disk-away",
          resourceClass: ResourceClass.Storage,
          capacity: 500n,
          location: H3_CELL_2,
        });
        const { tx } = await revealAlice(f, [away], { region: [H3_CELL] });
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "OutsideRegion").withArgs(away, H3_CELL_2);
        const { tx: tx2 } = await revealAlice(f, [f.disk], { region: [H3_CELL] });
        await expect(tx2).to.be.revertedWithCustomError(f.marketplace, "OutsideRegion").withArgs(f.disk, 0n);
      });

      it("accepts a device inside a region cell or its coarser parent", async function () {
        const f = await loadFixture(orderFixture);
        const here = await registerDevice(f.registry, f.alice, {
          label: "market-alice-disk-here",
          resourceClass: ResourceClass.Storage,
          capacity: 500n,
          location: H3_CELL_2,
        });
        const exact = await revealAlice(f, [here], { region: [H3_CELL, H3_CELL_2] });
        await expect(exact.tx).to.emit(f.marketplace, "BidRevealed");
        const parent = await revealAlice(f, [here], { region: [REGION_PARENT] });
        await expect(parent.tx).to.emit(f.marketplace, "BidRevealed");
      });

      it("reverts CapacityTooLow when the devices' total capacity is below the order's", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, [f.disk], { capacity: 2_000n });
        const cap = (await f.registry.getDevice(f.disk)).capacity;
        await expect(tx).to.be.revertedWithCustomError(f.marketplace, "CapacityTooLow").withArgs(cap, 2_000n);
        // Both disks together (1,500 GiB) cover 1,500.
        const { tx: both } = await revealAlice(f, f.aliceDisks, { capacity: 1_500n });
        await expect(both).to.emit(f.marketplace, "BidRevealed");
      });

      it("reverts StakeTooLow when the provider's self-stake is below the order's minimum", async function () {
        const f = await loadFixture(orderFixture);
        const { tx } = await revealAlice(f, [f.disk], { minStake: 1_000n * MESH + 1n });
        await expect(tx)
          .to.be.revertedWithCustomError(f.marketplace, "StakeTooLow")
          .withArgs(1_000n * MESH, 1_000n * MESH + 1n);
      });

      it("reverts ProviderHasJailedDevices when any of the provider's devices is jailed", async function () {
        const f = await loadFixture(orderFixture);
        await f.registry.grantRole(await f.registry.JAILER_ROLE(), f.governance.address);
        await f.registry.jail(f.aliceDevice, BigInt(await time.latest()) + 86_400n);
        const { tx } = await revealAlice(f, [f.disk]);
        await expect(tx)
          .to.be.revertedWithCustomError(f.marketplace, "ProviderHasJailedDevices")
          .withArgs(f.alice.address, 1n);
      });
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("closeAuction", function () {
    it("leases to the lowest price: starts next epoch, binds the devices, credits deposits and surplus", async function () {
      const f = await loadFixture(orderFixture);
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const b = await commitBid(f, f.orderId, f.bob, BOB_PRICE, [f.bobDisk]);
      await toReveal(f, f.orderId);
      await revealBid(f, f.orderId, b);
      await revealBid(f, f.orderId, a);
      await toClose(f, f.orderId);
      const current = await f.config.currentEpoch();
      expect(await f.marketplace.connect(f.outsider).closeAuction.staticCall(f.orderId)).to.equal(true);
      const tx = f.marketplace.connect(f.outsider).closeAuction(f.orderId);
      await expect(tx)
        .to.emit(f.marketplace, "LeaseStarted")
        .withArgs(f.orderId, f.carol.address, f.alice.address, PRICE, current + 1n, current + 10n, [f.disk]);
      await expect(tx).to.emit(f.marketplace, "BidDepositReturned").withArgs(f.orderId, 0n, BID_DEPOSIT, 0n);
      await expect(tx).to.emit(f.marketplace, "BidDepositReturned").withArgs(f.orderId, 1n, BID_DEPOSIT, 0n);
      await expect(tx).to.changeTokenBalance(f.token, f.marketplace, 0n);

      const o = await f.marketplace.getOrder(f.orderId);
      expect(o.status).to.equal(OrderStatus.Leased);
      expect(o.escrow).to.equal(0n);
      const l = await f.marketplace.getLease(f.orderId);
      expect(l.customer).to.equal(f.carol.address);
      expect(l.status).to.equal(LeaseStatus.Active);
      expect(l.closing).to.equal(false);
      expect(l.minDeliveryBps).to.equal(9_000n);
      expect(l.feeBps).to.equal(MARKET_FEE_BPS);
      expect(l.provider).to.equal(f.alice.address);
      expect(l.startEpoch).to.equal(current + 1n);
      expect(l.termEndEpoch).to.equal(current + 10n);
      expect(l.token).to.equal(await f.token.getAddress());
      expect(l.endEpoch).to.equal(current + 10n);
      expect(l.settledThrough).to.equal(current);
      expect(l.delivered).to.equal(0n);
      expect(l.breaches).to.equal(0n);
      expect(l.endedAt).to.equal(0n);
      expect(l.pricePerEpoch).to.equal(PRICE);
      expect(l.escrow).to.equal(10n * PRICE);
      expect(l.devices).to.deep.equal([f.disk]);

      expect(await f.marketplace.leaseOfDevice(f.disk)).to.equal(f.orderId);
      expect(await f.marketplace.leaseOfDevice(f.bobDisk)).to.equal(0n);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW - 10n * PRICE);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT);
      // The loser gets its whole deposit back.
      await expect(f.marketplace.connect(f.bob).withdraw(f.token)).to.changeTokenBalance(f.token, f.bob, BID_DEPOSIT);
      await expect(f.marketplace.closeAuction(f.orderId))
        .to.be.revertedWithCustomError(f.marketplace, "OrderNotOpen")
        .withArgs(f.orderId, OrderStatus.Leased);
    });

    it("ends the lease when the escrow runs out before the term (min(term, escrow / price))", async function () {
      const f = await loadFixture(underfundedLeaseFixture);
      const l = await f.marketplace.getLease(f.leaseId);
      expect(l.endEpoch).to.equal(l.startEpoch + 5n); // 50 / 8 = 6 epochs
      expect(l.termEndEpoch).to.equal(l.startEpoch + 9n);
      expect(l.escrow).to.equal(6n * PRICE);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(2n * MESH);
    });

    it("forfeits part of an unrevealed bid's deposit to the fees", async function () {
      const f = await loadFixture(orderFixture);
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await commitBid(f, f.orderId, f.bob, BOB_PRICE, [f.bobDisk]); // never revealed
      await runAuction(f, f.orderId, [a]);
      const forfeit = (BID_DEPOSIT * UNREVEALED_FORFEIT_BPS) / BPS;
      expect(forfeit).to.equal(1n * MESH);
      expect(await f.marketplace.credit(f.bob.address, f.token)).to.equal(BID_DEPOSIT - forfeit);
      expect(await f.marketplace.feesAccrued(f.token)).to.equal(forfeit);
      const events = await f.marketplace.queryFilter(f.marketplace.filters.BidDepositReturned(f.orderId));
      expect(events.map((e) => [e.args.bidIndex, e.args.returned, e.args.forfeited])).to.deep.equal([
        [0n, BID_DEPOSIT, 0n],
        [1n, BID_DEPOSIT - forfeit, forfeit],
      ]);
      expect((await f.marketplace.getLease(f.orderId)).provider).to.equal(f.alice.address);
    });

    it("without bids: OrderUnfilled, the escrow credited back, no lease", async function () {
      const f = await loadFixture(orderFixture);
      await toClose(f, f.orderId);
      expect(await f.marketplace.closeAuction.staticCall(f.orderId)).to.equal(false);
      await expect(f.marketplace.connect(f.outsider).closeAuction(f.orderId))
        .to.emit(f.marketplace, "OrderUnfilled")
        .withArgs(f.orderId);
      const o = await f.marketplace.getOrder(f.orderId);
      expect(o.status).to.equal(OrderStatus.Unfilled);
      expect(o.escrow).to.equal(0n);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW);
      expect((await f.marketplace.getLease(f.orderId)).status).to.equal(LeaseStatus.None);
      await expect(f.marketplace.connect(f.carol).withdraw(f.token)).to.changeTokenBalance(f.token, f.carol, ESCROW);
    });

    it("without revealed bids: unfilled, deposits back less the forfeit", async function () {
      const f = await loadFixture(orderFixture);
      await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await toClose(f, f.orderId);
      await expect(f.marketplace.closeAuction(f.orderId))
        .to.emit(f.marketplace, "BidDepositReturned")
        .withArgs(f.orderId, 0n, 4n * MESH, 1n * MESH);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(4n * MESH);
    });

    it("breaks a tie by the earlier commitment, whatever the reveal order", async function () {
      const f = await loadFixture(orderFixture);
      const b = await commitBid(f, f.orderId, f.bob, PRICE, [f.bobDisk]); // first
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await runAuction(f, f.orderId, [a, b]); // alice reveals first
      expect((await f.marketplace.getLease(f.orderId)).provider).to.equal(f.bob.address);
      expect(await f.marketplace.leaseOfDevice(f.bobDisk)).to.equal(f.orderId);
    });

    it("falls through to the next bid when the winner's device became unavailable", async function () {
      const f = await loadFixture(orderFixture);
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const b = await commitBid(f, f.orderId, f.bob, BOB_PRICE, [f.bobDisk]);
      await toReveal(f, f.orderId);
      await revealBid(f, f.orderId, a);
      await revealBid(f, f.orderId, b);
      await f.registry.connect(f.alice).beginExit(f.disk);
      await toClose(f, f.orderId);
      await expect(f.marketplace.closeAuction(f.orderId))
        .to.emit(f.marketplace, "LeaseStarted")
        .withArgs(f.orderId, f.carol.address, f.bob.address, BOB_PRICE, anyValue, anyValue, [f.bobDisk]);
      // alice's deposit comes back in full: she revealed.
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT);
    });

    it("falls through when the winner's device was leased by another auction that closed first", async function () {
      const f = await loadFixture(orderFixture);
      const other = await postOrder(f, f.dave);
      const a1 = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const a2 = await commitBid(f, other, f.alice, PRICE, [f.disk]);
      const b2 = await commitBid(f, other, f.bob, BOB_PRICE, [f.bobDisk]);
      await toReveal(f, other);
      await revealBid(f, other, a2);
      await revealBid(f, other, b2);
      await runAuction(f, f.orderId, [a1]); // alice's disk goes to order 1
      await toClose(f, other);
      await f.marketplace.closeAuction(other);
      expect((await f.marketplace.getLease(other)).provider).to.equal(f.bob.address);
    });

    it("is unfilled when every revealed bid became unavailable", async function () {
      const f = await loadFixture(orderFixture);
      const a = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      await toReveal(f, f.orderId);
      await revealBid(f, f.orderId, a);
      await f.registry.grantRole(await f.registry.JAILER_ROLE(), f.governance.address);
      await f.registry.jail(f.disk, BigInt(await time.latest()) + 86_400n);
      expect((await f.registry.getDevice(f.disk)).status).to.equal(DeviceStatus.Jailed);
      await toClose(f, f.orderId);
      await expect(f.marketplace.closeAuction(f.orderId)).to.emit(f.marketplace, "OrderUnfilled");
    });

    it("reverts AuctionNotOver until the reveal window has closed", async function () {
      const f = await loadFixture(orderFixture);
      const { revealEndsAt } = await f.marketplace.getOrder(f.orderId);
      await expect(f.marketplace.closeAuction(f.orderId))
        .to.be.revertedWithCustomError(f.marketplace, "AuctionNotOver")
        .withArgs(f.orderId, revealEndsAt);
      await time.setNextBlockTimestamp(revealEndsAt - 1n);
      await expect(f.marketplace.closeAuction(f.orderId))
        .to.be.revertedWithCustomError(f.marketplace, "AuctionNotOver")
        .withArgs(f.orderId, revealEndsAt);
      await time.setNextBlockTimestamp(revealEndsAt);
      await expect(f.marketplace.closeAuction(f.orderId)).to.emit(f.marketplace, "OrderUnfilled");
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("settle", function () {
    it("pays a fully delivered epoch: price less the 1 % fee to the provider, nothing back", async function () {
      const f = await loadFixture(leaseFixture);
      expect(f.startEpoch).to.equal(1n);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      const fee8 = fee(PRICE);
      expect(fee8).to.equal(8n * 10n ** 16n);
      await expect(settleWith(f, f.carol, 1n, 1n, leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 1n, 1n, PRICE, 0n, fee8, 0n, f.carol.address);
      const l = await f.marketplace.getLease(1n);
      expect(l.settledThrough).to.equal(1n);
      expect(l.delivered).to.equal(FULL);
      expect(l.escrow).to.equal(9n * PRICE);
      expect(l.status).to.equal(LeaseStatus.Active);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT + PRICE - fee8);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW - 10n * PRICE); // surplus only
      expect(await f.marketplace.feesAccrued(f.token)).to.equal(fee8);

      await expect(f.marketplace.connect(f.alice).withdraw(f.token))
        .to.emit(f.marketplace, "Withdrawn")
        .withArgs(f.alice.address, await f.token.getAddress(), BID_DEPOSIT + PRICE - fee8);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(0n);
    });

    it("pays half and refunds half of a half-delivered epoch", async function () {
      const f = await loadFixture(leaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL / 2n, 1n)] });
      const half = PRICE / 2n;
      await expect(settleWith(f, f.alice, 1n, 1n, leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 1n, 1n, half, half, fee(half), 0n, f.alice.address);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT + half - fee(half));
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW - 10n * PRICE + half);
      expect((await f.marketplace.getLease(1n)).breaches).to.equal(1n);
    });

    it("settles several epochs with one cumulative leaf; epochs without a verdict count as undelivered", async function () {
      const f = await loadFixture(leaseFixture);
      await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] }); // not settled on its own
      // No verdict for epoch 2. Epoch 3 delivers 80 %: cumulative 18,000 bps over 3 epochs, one breach.
      const { leases } = await finaliseEpoch(f, 3n, { leases: [leaf(1n, 18_000n, 1n)] });
      expect((await f.hub.getVerdict(2n)).status).to.equal(0n);
      const paid = (18_000n * PRICE) / BPS;
      await expect(settleWith(f, f.dave, 1n, 3n, leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 3n, 3n, paid, 3n * PRICE - paid, fee(paid), bounty(paid), f.dave.address);
      const l = await f.marketplace.getLease(1n);
      expect(l.settledThrough).to.equal(3n);
      expect(l.escrow).to.equal(7n * PRICE);
      expect(l.breaches).to.equal(1n);
    });

    it("pays a third-party settler the bounty out of the provider's payment", async function () {
      const f = await loadFixture(leaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      const b = bounty(PRICE);
      expect(b).to.equal(4n * 10n ** 16n);
      await expect(settleWith(f, f.fisher, 1n, 1n, leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 1n, 1n, PRICE, 0n, fee(PRICE), b, f.fisher.address);
      expect(await f.marketplace.credit(f.fisher.address, f.token)).to.equal(b);
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT + PRICE - fee(PRICE) - b);
      await expect(f.marketplace.connect(f.fisher).withdraw(f.token)).to.changeTokenBalance(f.token, f.fisher, b);
    });

    it("pays nothing and refunds everything for an undelivered epoch (no bounty on nothing)", async function () {
      const f = await loadFixture(leaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, 0n, 1n)] });
      await expect(settleWith(f, f.outsider, 1n, 1n, leases!))
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 1n, 1n, 0n, PRICE, 0n, 0n, f.outsider.address);
      expect(await f.marketplace.credit(f.outsider.address, f.token)).to.equal(0n);
    });

    it("ends the lease once settled through its last epoch, freeing its devices", async function () {
      const f = await loadFixture(shortLeaseFixture);
      const l0 = await f.marketplace.getLease(1n);
      expect([l0.startEpoch, l0.endEpoch, l0.escrow]).to.deep.equal([1n, 2n, 2n * PRICE]);
      await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      const { leases } = await finaliseEpoch(f, 2n, { leases: [leaf(1n, 2n * FULL)] });
      const tx = settleWith(f, f.carol, 1n, 2n, leases!);
      await expect(tx)
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 2n, 2n, 2n * PRICE, 0n, fee(2n * PRICE), 0n, f.carol.address);
      await expect(tx).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, 0n, false);
      const l = await f.marketplace.getLease(1n);
      expect(l.status).to.equal(LeaseStatus.Ended);
      expect(l.escrow).to.equal(0n);
      expect(l.endedAt).to.equal(await f.config.currentEpoch());
      expect(await f.marketplace.leaseOfDevice(f.disk)).to.equal(0n);
      await expect(settleWith(f, f.carol, 1n, 2n, leases!))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseNotActive")
        .withArgs(1n, LeaseStatus.Ended);

      // The disk may be leased again.
      const next = await postOrder(f, f.dave);
      const bid = await commitBid(f, next, f.alice, PRICE, [f.disk]);
      await runAuction(f, next, [bid]);
      expect(await f.marketplace.leaseOfDevice(f.disk)).to.equal(next);
    });

    it("caps a leaf of a later epoch at the lease's end (cumulative values carried past it)", async function () {
      const f = await loadFixture(shortLeaseFixture);
      await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      const { leases } = await finaliseEpoch(f, 3n, { leases: [leaf(1n, FULL)] }); // epoch 2: no verdict
      const tx = settleWith(f, f.alice, 1n, 3n, leases!);
      await expect(tx)
        .to.emit(f.marketplace, "LeaseSettled")
        .withArgs(1n, 3n, 2n, PRICE, PRICE, fee(PRICE), 0n, f.alice.address);
      await expect(tx).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, 0n, false);
    });

    it("reverts VerdictNotFinal without a verdict or while it is pending", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.settle(1n, 1n, FULL, 0n, []))
        .to.be.revertedWithCustomError(f.marketplace, "VerdictNotFinal")
        .withArgs(1n);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)], pending: true });
      await expect(settleWith(f, f.carol, 1n, 1n, leases!))
        .to.be.revertedWithCustomError(f.marketplace, "VerdictNotFinal")
        .withArgs(1n);
    });

    it("reverts AlreadySettled for an epoch before the lease or already settled", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.settle(1n, 0n, 0n, 0n, []))
        .to.be.revertedWithCustomError(f.marketplace, "AlreadySettled")
        .withArgs(1n, 0n);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      await settleWith(f, f.carol, 1n, 1n, leases!);
      await expect(settleWith(f, f.carol, 1n, 1n, leases!))
        .to.be.revertedWithCustomError(f.marketplace, "AlreadySettled")
        .withArgs(1n, 1n);
    });

    it("reverts InvalidDeliveryProof for values, lease or proof not in the verdict's leases root", async function () {
      const f = await loadFixture(leaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL / 2n, 1n), leaf(2n, FULL)] });
      const { proof } = leaseProof(leases!, 1n);
      for (const [delivered, breaches, p] of [
        [FULL, 1n, proof],
        [FULL / 2n, 0n, proof],
        [FULL / 2n, 1n, leaseProof(leases!, 2n).proof],
        [FULL / 2n, 1n, []],
      ] as [bigint, bigint, string[]][]) {
        await expect(f.marketplace.settle(1n, 1n, delivered, breaches, p))
          .to.be.revertedWithCustomError(f.marketplace, "InvalidDeliveryProof")
          .withArgs(1n, 1n);
      }
      // A verdict without leases (ZeroHash root) proves nothing.
      await finaliseEpoch(f, 2n);
      await expect(f.marketplace.settle(1n, 2n, 0n, 0n, []))
        .to.be.revertedWithCustomError(f.marketplace, "InvalidDeliveryProof")
        .withArgs(1n, 2n);
    });

    it("reverts DeliveryDecreased when a leaf's cumulative values are below the settled ones", async function () {
      const f = await loadFixture(leaseFixture);
      const first = await finaliseEpoch(f, 1n, { leases: [leaf(1n, 5_000n, 1n)] });
      await settleWith(f, f.carol, 1n, 1n, first.leases!);
      const tree = (await finaliseEpoch(f, 2n, { leases: [leaf(1n, 4_999n, 1n), leaf(1n, 15_000n, 0n)] })).leases!;
      for (const [i, v] of tree.entries()) {
        await expect(f.marketplace.settle(1n, 2n, v[1], v[2], tree.getProof(i)))
          .to.be.revertedWithCustomError(f.marketplace, "DeliveryDecreased")
          .withArgs(1n);
      }
    });

    it("reverts DeliveryExceedsTerm when a leaf claims more delivery or breaches than the epochs settled", async function () {
      const f = await loadFixture(leaseFixture);
      const tree = (
        await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL + 1n), leaf(1n, 5_000n, 2n), leaf(1n, FULL, 1n)] })
      ).leases!;
      await expect(settleValue(f, tree, leaf(1n, FULL + 1n)))
        .to.be.revertedWithCustomError(f.marketplace, "DeliveryExceedsTerm")
        .withArgs(1n, FULL + 1n, 0n, 1n);
      await expect(settleValue(f, tree, leaf(1n, 5_000n, 2n)))
        .to.be.revertedWithCustomError(f.marketplace, "DeliveryExceedsTerm")
        .withArgs(1n, 5_000n, 2n, 1n);
      // Each value is only bounded by the epochs settled: one epoch may carry up to 10,000 bps and one breach.
      await expect(settleValue(f, tree, leaf(1n, FULL, 1n))).to.emit(f.marketplace, "LeaseSettled");
    });

    it("reverts LeaseNotActive for a lease that does not exist", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.settle(9n, 1n, 0n, 0n, []))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseNotActive")
        .withArgs(9n, LeaseStatus.None);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("topUp", function () {
    it("extends the lease up to its term and pulls only what the term needs", async function () {
      const f = await loadFixture(underfundedLeaseFixture);
      // 6 of 10 epochs funded (48 MESH). A top-up that is not a whole number of epochs extends by whole epochs.
      await expect(f.marketplace.connect(f.fisher).topUp(1n, 12n * MESH))
        .to.emit(f.marketplace, "LeaseToppedUp")
        .withArgs(1n, f.fisher.address, 12n * MESH, 7n);
      expect((await f.marketplace.getLease(1n)).escrow).to.equal(60n * MESH);
      // The term needs 80 - 60 = 20 more: only that is pulled from a larger amount.
      const tx = f.marketplace.connect(f.carol).topUp(1n, 100n * MESH);
      await expect(tx).to.emit(f.marketplace, "LeaseToppedUp").withArgs(1n, f.carol.address, 20n * MESH, 10n);
      await expect(tx).to.changeTokenBalances(f.token, [f.carol, f.marketplace], [-20n * MESH, 20n * MESH]);
      const l = await f.marketplace.getLease(1n);
      expect(l.endEpoch).to.equal(l.termEndEpoch);
      expect(l.escrow).to.equal(10n * PRICE);
      await expect(f.marketplace.connect(f.carol).topUp(1n, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseFullyFunded")
        .withArgs(1n);
    });

    it("returns the remainder of a top-up that is not a whole epoch when the lease ends", async function () {
      const f = await loadFixture(shortLeaseFixture); // epochs 1..2 of a 2-epoch term: fully funded
      await expect(f.marketplace.topUp(1n, 1n)).to.be.revertedWithCustomError(f.marketplace, "LeaseFullyFunded");
      const f2 = await loadFixture(underfundedLeaseFixture);
      await f2.marketplace.connect(f2.fisher).topUp(1n, 3n * MESH); // end stays 6; 3 MESH of dust
      expect((await f2.marketplace.getLease(1n)).endEpoch).to.equal(6n);
      const surplus = await f2.marketplace.credit(f2.carol.address, f2.token);
      await time.increaseTo((await f2.config.epochEnd(6n)) + SETTLEMENT_GRACE);
      await expect(f2.marketplace.expireLease(1n))
        .to.emit(f2.marketplace, "LeaseEnded")
        .withArgs(1n, 6n * PRICE + 3n * MESH, true);
      expect(await f2.marketplace.credit(f2.carol.address, f2.token)).to.equal(surplus + 6n * PRICE + 3n * MESH);
    });

    it("accounts for settled epochs when computing what the term needs", async function () {
      const f = await loadFixture(underfundedLeaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      await settleWith(f, f.carol, 1n, 1n, leases!);
      // 5 epochs funded (2..6, 40 MESH); the term needs 9 x 8 = 72: 32 more.
      await expect(f.marketplace.connect(f.carol).topUp(1n, 1_000n * MESH))
        .to.emit(f.marketplace, "LeaseToppedUp")
        .withArgs(1n, f.carol.address, 32n * MESH, 10n);
    });

    it("reverts ZeroAmount, LeaseClosing, LeaseRanOut and LeaseNotActive", async function () {
      const f = await loadFixture(underfundedLeaseFixture);
      await expect(f.marketplace.topUp(1n, 0n)).to.be.revertedWithCustomError(f.marketplace, "ZeroAmount");
      await expect(f.marketplace.topUp(5n, 1n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseNotActive")
        .withArgs(5n, LeaseStatus.None);
      // Still possible during its last epoch, not after it.
      await time.increaseTo(await f.config.epochEnd(5n));
      expect(await f.config.currentEpoch()).to.equal(6n);
      await f.marketplace.connect(f.carol).topUp(1n, 8n * MESH);
      await time.increaseTo(await f.config.epochEnd(7n));
      await expect(f.marketplace.connect(f.carol).topUp(1n, 8n * MESH))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseRanOut")
        .withArgs(1n, 7n);

      const g = await loadFixture(underfundedLeaseFixture);
      await g.marketplace.connect(g.alice).giveNotice(1n);
      await expect(g.marketplace.connect(g.carol).topUp(1n, 8n * MESH))
        .to.be.revertedWithCustomError(g.marketplace, "LeaseClosing")
        .withArgs(1n);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("giveNotice", function () {
    it("by the customer: the lease runs LeaseNoticeEpochs more and the rest of the escrow comes back", async function () {
      const f = await loadFixture(leaseFixture);
      expect(await f.config.currentEpoch()).to.equal(0n);
      const surplus = ESCROW - 10n * PRICE;
      await expect(f.marketplace.connect(f.carol).giveNotice(1n))
        .to.emit(f.marketplace, "LeaseNoticeGiven")
        .withArgs(1n, f.carol.address, 1n);
      const l = await f.marketplace.getLease(1n);
      expect(l.closing).to.equal(true);
      expect(l.endEpoch).to.equal(1n);
      expect(l.termEndEpoch).to.equal(10n);
      expect(l.escrow).to.equal(PRICE);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(surplus + 9n * PRICE);
      // The remaining epoch is settled as usual and ends the lease.
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      await expect(settleWith(f, f.alice, 1n, 1n, leases!)).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, 0n, false);
    });

    it("by the provider, later in the lease", async function () {
      const f = await loadFixture(leaseFixture);
      await time.increaseTo(await f.config.epochEnd(2n)); // epoch 3
      const surplus = ESCROW - 10n * PRICE;
      await expect(f.marketplace.connect(f.alice).giveNotice(1n))
        .to.emit(f.marketplace, "LeaseNoticeGiven")
        .withArgs(1n, f.alice.address, 4n);
      const l = await f.marketplace.getLease(1n);
      expect(l.endEpoch).to.equal(4n);
      expect(l.escrow).to.equal(4n * PRICE); // epochs 1..4, none settled yet
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(surplus + 6n * PRICE);
    });

    it("changes no end that comes sooner, but still makes the lease final", async function () {
      const f = await loadFixture(shortLeaseFixture); // ends at epoch 2
      await time.increaseTo(await f.config.epochEnd(0n)); // epoch 1: notice would run through 2
      const before = await f.marketplace.credit(f.carol.address, f.token);
      await expect(f.marketplace.connect(f.carol).giveNotice(1n))
        .to.emit(f.marketplace, "LeaseNoticeGiven")
        .withArgs(1n, f.carol.address, 2n);
      expect((await f.marketplace.getLease(1n)).escrow).to.equal(2n * PRICE);
      expect((await f.marketplace.getLease(1n)).closing).to.equal(true);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(before);
    });

    it("reverts NotLeaseParty, LeaseClosing and LeaseNotActive", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.connect(f.outsider).giveNotice(1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotLeaseParty")
        .withArgs(f.outsider.address);
      await expect(f.marketplace.connect(f.bob).giveNotice(1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotLeaseParty")
        .withArgs(f.bob.address);
      await f.marketplace.connect(f.alice).giveNotice(1n);
      await expect(f.marketplace.connect(f.carol).giveNotice(1n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseClosing")
        .withArgs(1n);
      await expect(f.marketplace.connect(f.carol).giveNotice(2n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseNotActive")
        .withArgs(2n, LeaseStatus.None);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("service level breaches", function () {
    /** Epochs 1..3 at 50 % (below the 90 % service level): three breaches; settles 1 and 2 separately. */
    async function breachedFixture() {
      const f = await leaseFixture();
      const evidence = leaseEvidence(1n);
      const t1 = await finaliseEpoch(f, 1n, { leases: [leaf(1n, 5_000n, 1n)] });
      await settleWith(f, f.alice, 1n, 1n, t1.leases!);
      const t2 = await finaliseEpoch(f, 2n, { leases: [leaf(1n, 10_000n, 2n)] });
      await settleWith(f, f.alice, 1n, 2n, t2.leases!);
      // The third breach is a multiple of SlaBreachEpochs: the oracles fault the device.
      const t3 = await finaliseEpoch(f, 3n, {
        leases: [leaf(1n, 15_000n, 3n)],
        faults: [[f.disk, FaultKind.ServiceLevelBreach, evidence]],
      });
      return { ...f, t3, evidence };
    }

    it("closeForBreach reverts NotEnoughBreaches before SlaBreachEpochs breaches are settled", async function () {
      const f = await loadFixture(breachedFixture);
      await expect(f.marketplace.connect(f.carol).closeForBreach(1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotEnoughBreaches")
        .withArgs(1n, 2n, SLA_BREACH_EPOCHS);
    });

    it("closeForBreach by the customer ends the lease, paid only for the verified delivery", async function () {
      const f = await loadFixture(breachedFixture);
      await settleWith(f, f.carol, 1n, 3n, f.t3.leases!);
      await expect(f.marketplace.connect(f.alice).closeForBreach(1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotCustomer")
        .withArgs(f.alice.address);
      await expect(f.marketplace.connect(f.outsider).closeForBreach(1n))
        .to.be.revertedWithCustomError(f.marketplace, "NotCustomer")
        .withArgs(f.outsider.address);
      expect(await f.config.currentEpoch()).to.equal(4n);

      const tx = f.marketplace.connect(f.carol).closeForBreach(1n);
      await expect(tx).to.emit(f.marketplace, "LeaseClosedForBreach").withArgs(1n, 3n, 3n);
      await expect(tx).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, 0n, false);
      const l = await f.marketplace.getLease(1n);
      expect(l.status).to.equal(LeaseStatus.Ended);
      expect(l.endEpoch).to.equal(3n);
      expect(await f.marketplace.leaseOfDevice(f.disk)).to.equal(0n);
      // Provider: 3 x 50 % of 8 MESH less the fee. Customer: the surplus, 3 x 4 MESH undelivered and epochs 4..10.
      const paid = (3n * PRICE) / 2n;
      expect(await f.marketplace.credit(f.alice.address, f.token)).to.equal(BID_DEPOSIT + paid - fee(paid));
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(ESCROW - paid);
      expect(await f.marketplace.feesAccrued(f.token)).to.equal(fee(paid));
    });

    it("closeForBreach keeps the ended but unsettled epochs in escrow for their settlement", async function () {
      const f = await loadFixture(breachedFixture);
      await settleWith(f, f.carol, 1n, 3n, f.t3.leases!);
      await time.increaseTo(await f.config.epochEnd(4n)); // epoch 5; epoch 4 has ended unsettled
      const before = await f.marketplace.credit(f.carol.address, f.token);
      await expect(f.marketplace.connect(f.carol).closeForBreach(1n))
        .to.emit(f.marketplace, "LeaseClosedForBreach")
        .withArgs(1n, 3n, 4n);
      const l = await f.marketplace.getLease(1n);
      expect(l.status).to.equal(LeaseStatus.Active);
      expect(l.closing).to.equal(true);
      expect(l.escrow).to.equal(PRICE);
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(before + 6n * PRICE);
      await expect(f.marketplace.connect(f.carol).topUp(1n, PRICE))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseClosing")
        .withArgs(1n);
      await expect(f.marketplace.connect(f.carol).giveNotice(1n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseClosing")
        .withArgs(1n);
      // Epoch 4 delivered nothing: the provider gets nothing for it, the lease ends.
      const t4 = await finaliseEpoch(f, 4n, { leases: [leaf(1n, 15_000n, 4n)] });
      const tx = settleWith(f, f.fisher, 1n, 4n, t4.leases!);
      await expect(tx).to.emit(f.marketplace, "LeaseSettled").withArgs(1n, 4n, 4n, 0n, PRICE, 0n, 0n, f.fisher.address);
      await expect(tx).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, 0n, false);
    });

    it("the hub slashes the provider for the ServiceLevelBreach fault in the verdict's faults root", async function () {
      const f = await loadFixture(breachedFixture);
      const faults = f.t3.faults!;
      const proof = faults.getProof(0);
      const slashable = await f.staking.slashableStake(f.alice.address);
      const rate = await f.config.faultParam(FaultKind.ServiceLevelBreach, 0);
      const slash = (slashable * rate + BPS - 1n) / BPS;
      expect(slash).to.equal(5n * MESH); // 0.5 % of 1,000 MESH
      await expect(
        f.hub.connect(f.outsider).applyFault(3n, f.disk, FaultKind.ServiceLevelBreach, f.evidence, proof),
      )
        .to.emit(f.hub, "FaultApplied")
        .withArgs(3n, f.disk, FaultKind.ServiceLevelBreach, slash);
      expect(await f.staking.selfStake(f.alice.address)).to.equal(1_000n * MESH - slash);
      // The lease settles independently of the slash.
      await expect(settleWith(f, f.carol, 1n, 3n, f.t3.leases!)).to.emit(f.marketplace, "LeaseSettled");
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("expireLease", function () {
    it("reverts SettlementGraceNotOver until SETTLEMENT_GRACE after the last epoch, then refunds the escrow", async function () {
      const f = await loadFixture(leaseFixture);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      await settleWith(f, f.alice, 1n, 1n, leases!);
      const endsAt = (await f.config.epochEnd(10n)) + SETTLEMENT_GRACE;
      await expect(f.marketplace.expireLease(1n))
        .to.be.revertedWithCustomError(f.marketplace, "SettlementGraceNotOver")
        .withArgs(1n, endsAt);
      await time.setNextBlockTimestamp(endsAt - 1n);
      await expect(f.marketplace.expireLease(1n))
        .to.be.revertedWithCustomError(f.marketplace, "SettlementGraceNotOver")
        .withArgs(1n, endsAt);
      const before = await f.marketplace.credit(f.carol.address, f.token);
      await time.setNextBlockTimestamp(endsAt);
      await expect(f.marketplace.connect(f.outsider).expireLease(1n))
        .to.emit(f.marketplace, "LeaseEnded")
        .withArgs(1n, 9n * PRICE, true);
      const l = await f.marketplace.getLease(1n);
      expect(l.status).to.equal(LeaseStatus.Ended);
      expect(l.escrow).to.equal(0n);
      expect(l.endedAt).to.equal(await f.config.currentEpoch());
      expect(await f.marketplace.credit(f.carol.address, f.token)).to.equal(before + 9n * PRICE);
      expect(await f.marketplace.leaseOfDevice(f.disk)).to.equal(0n);
      await expect(f.marketplace.expireLease(1n))
        .to.be.revertedWithCustomError(f.marketplace, "LeaseNotActive")
        .withArgs(1n, LeaseStatus.Ended);
    });

    it("uses the end a notice set", async function () {
      const f = await loadFixture(leaseFixture);
      await f.marketplace.connect(f.carol).giveNotice(1n); // ends at epoch 1
      await time.increaseTo((await f.config.epochEnd(1n)) + SETTLEMENT_GRACE);
      await expect(f.marketplace.expireLease(1n)).to.emit(f.marketplace, "LeaseEnded").withArgs(1n, PRICE, true);
    });
  });

  /* ------------------------------------------------------------------------------------------------------------- */

  describe("withdraw and sweepFees", function () {
    it("withdraw reverts NothingToWithdraw without a credit, and after withdrawing", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.connect(f.outsider).withdraw(f.token))
        .to.be.revertedWithCustomError(f.marketplace, "NothingToWithdraw")
        .withArgs(await f.token.getAddress());
      await f.marketplace.connect(f.bob).withdraw(f.token);
      await expect(f.marketplace.connect(f.bob).withdraw(f.token))
        .to.be.revertedWithCustomError(f.marketplace, "NothingToWithdraw")
        .withArgs(await f.token.getAddress());
    });

    it("sweepFees sends the accrued fees to the treasury; ZeroAmount when there are none", async function () {
      const f = await loadFixture(leaseFixture);
      await expect(f.marketplace.sweepFees(f.token)).to.be.revertedWithCustomError(f.marketplace, "ZeroAmount");
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(1n, FULL)] });
      await settleWith(f, f.carol, 1n, 1n, leases!);
      const tx = f.marketplace.connect(f.outsider).sweepFees(f.token);
      await expect(tx)
        .to.emit(f.marketplace, "FeesSwept")
        .withArgs(await f.token.getAddress(), f.treasury.address, fee(PRICE));
      await expect(tx).to.changeTokenBalances(f.token, [f.marketplace, f.treasury], [-fee(PRICE), fee(PRICE)]);
      expect(await f.marketplace.feesAccrued(f.token)).to.equal(0n);
    });

    it("burns MESH fees when the config has no treasury; other tokens revert NoTreasury", async function () {
      const f = await loadFixture(tokenFixture);
      await f.config.setTreasury(ethers.ZeroAddress);
      await f.config.setPaymentToken(f.usd, true);
      const usdOrder = await postOrder(f, f.carol, { token: f.usd.target as string, durationEpochs: 1 }, 10n * MESH);
      const a1 = await commitBid(f, f.orderId, f.alice, PRICE, [f.disk]);
      const a2 = await commitBid(f, usdOrder, f.bob, PRICE, [f.bobDisk]);
      await toReveal(f, usdOrder);
      await revealBid(f, f.orderId, a1);
      await revealBid(f, usdOrder, a2);
      await toClose(f, usdOrder);
      await f.marketplace.closeAuction(f.orderId);
      await f.marketplace.closeAuction(usdOrder);
      const { leases } = await finaliseEpoch(f, 1n, { leases: [leaf(f.orderId, FULL), leaf(usdOrder, FULL)] });
      await settleWith(f, f.carol, f.orderId, 1n, leases!);
      await settleWith(f, f.carol, usdOrder, 1n, leases!);

      const supply = await f.token.totalSupply();
      await expect(f.marketplace.sweepFees(f.token))
        .to.emit(f.marketplace, "FeesSwept")
        .withArgs(await f.token.getAddress(), ethers.ZeroAddress, fee(PRICE));
      expect(await f.token.totalSupply()).to.equal(supply - fee(PRICE));
      await expect(f.marketplace.sweepFees(f.usd))
        .to.be.revertedWithCustomError(f.marketplace, "NoTreasury")
        .withArgs(await f.usd.getAddress());
      expect(await f.marketplace.feesAccrued(f.usd)).to.equal(fee(PRICE));
    });
  });
});

