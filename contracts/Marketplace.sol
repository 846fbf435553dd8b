// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {
    IMarketplace, OrderTerms, OrderStatus, Order, Bid, LeaseStatus, Lease
} from "./interfaces/IMarketplace.sol";
import {IMeshToken} from "./interfaces/IMeshToken.sol";
import {IOracleHub, VerdictRecord, VerdictStatus} from "./interfaces/IOracleHub.sol";
import {IProtocolConfig, Param} from "./interfaces/IProtocolConfig.sol";
import {IProviderRegistry, Device} from "./interfaces/IProviderRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {H3} from "./libraries/H3.sol";
import {DeviceStatus} from "./types/Types.sol";

/// @title Marketplace
/// @notice Orders, sealed-bid reverse auctions and leases paid from escrow for the delivery the oracles verified.
/// @dev Every token movement out of an order or lease is a credit (`credit`) its owner withdraws: a payout never
/// waits on, or fails because of, another party. Escrow accounting per lease: `escrow` always pays for the epochs
/// `settledThrough + 1 .. endEpoch` at `pricePerEpoch`; a settlement of `due` epochs moves `due x price` out of it,
/// `price x delivered / BPS` to the provider (less fee and bounty) and the rest to the customer.
contract Marketplace is IMarketplace {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    uint256 private constant BPS = 10_000;
    uint256 private constant NO_WINNER = type(uint256).max;

    /// @inheritdoc IMarketplace
    uint256 public constant MAX_BIDS = 20;
    /// @inheritdoc IMarketplace
    uint256 public constant MAX_LEASE_DEVICES = 8;
    /// @inheritdoc IMarketplace
    uint256 public constant MAX_REGION_CELLS = 8;
    /// @inheritdoc IMarketplace
    uint256 public constant SETTLEMENT_GRACE = 30 days;

    IMeshToken public immutable mesh;
    IProtocolConfig public immutable config;
    IProviderRegistry public immutable registry;
    IStaking public immutable staking;
    IOracleHub public immutable hub;

    /// @inheritdoc IMarketplace
    uint256 public orderCount;
    mapping(uint256 orderId => Order) private _orders;
    mapping(uint256 orderId => Bid[]) private _bids;
    mapping(uint256 orderId => mapping(address provider => uint256)) private _bidSlot; // bid index + 1
    mapping(uint256 leaseId => Lease) private _leases;
    /// @inheritdoc IMarketplace
    mapping(address device => uint256) public leaseOfDevice;
    /// @inheritdoc IMarketplace
    mapping(address account => mapping(IERC20 token => uint256)) public credit;
    /// @inheritdoc IMarketplace
    mapping(IERC20 token => uint256) public feesAccrued;

    constructor(
        IMeshToken mesh_,
        IProtocolConfig config_,
        IProviderRegistry registry_,
        IStaking staking_,
        IOracleHub hub_
    ) {
        mesh = mesh_;
        config = config_;
        registry = registry_;
        staking = staking_;
        hub = hub_;
    }

    /* ORDERS */

    /// @inheritdoc IMarketplace
    function postOrder(OrderTerms calldata terms, uint256 escrow) external returns (uint256 orderId) {
        return _postOrder(terms, escrow);
    }

    /// @inheritdoc IMarketplace
    function postOrderWithPermit(
        OrderTerms calldata terms,
        uint256 escrow,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 orderId) {
        // A front-run permit still leaves the allowance; if not, the transfer below fails.
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(address(terms.token)).permit(msg.sender, address(this), escrow, deadline, v, r, s) {} catch {}
        return _postOrder(terms, escrow);
    }

    /// @inheritdoc IMarketplace
    function cancelOrder(uint256 orderId) external {
        Order storage order = _openOrder(orderId);
        if (msg.sender != order.customer) revert NotCustomer(msg.sender);
        if (_bids[orderId].length != 0) revert OrderHasBids(orderId);
        order.status = OrderStatus.Cancelled;
        credit[order.customer][order.token] += order.escrow;
        order.escrow = 0;
        emit OrderCancelled(orderId);
    }

    /* AUCTION */

    /// @inheritdoc IMarketplace
    function commitBid(uint256 orderId, bytes32 commitment) external returns (uint256 bidIndex) {
        Order storage order = _openOrder(orderId);
        if (block.timestamp >= order.commitEndsAt) revert CommitWindowClosed(orderId, order.commitEndsAt);
        if (msg.sender == order.customer) revert SelfBid(orderId);
        if (_bidSlot[orderId][msg.sender] != 0) revert AlreadyBid(orderId, msg.sender);
        Bid[] storage bids = _bids[orderId];
        if (bids.length >= MAX_BIDS) revert TooManyBids(orderId);

        bidIndex = bids.length;
        _bidSlot[orderId][msg.sender] = bidIndex + 1;
        Bid storage bid = bids.push();
        bid.provider = msg.sender;
        bid.commitment = commitment;
        emit BidCommitted(orderId, bidIndex, msg.sender, commitment);
        if (order.bidDeposit != 0) _pull(mesh, msg.sender, order.bidDeposit);
    }

    /// @inheritdoc IMarketplace
    function revealBid(uint256 orderId, uint128 pricePerEpoch, address[] calldata devices, bytes32 salt) external {
        Order storage order = _openOrder(orderId);
        if (block.timestamp < order.commitEndsAt || block.timestamp >= order.revealEndsAt) {
            revert RevealWindowNotOpen(orderId, order.commitEndsAt, order.revealEndsAt);
        }
        uint256 slot = _bidSlot[orderId][msg.sender];
        if (slot == 0) revert NoBid(orderId, msg.sender);
        Bid storage bid = _bids[orderId][slot - 1];
        if (bid.revealed) revert AlreadyRevealed(orderId, msg.sender);
        if (bidCommitment(orderId, msg.sender, pricePerEpoch, devices, salt) != bid.commitment) {
            revert CommitmentMismatch(orderId, msg.sender);
        }
        if (pricePerEpoch == 0 || pricePerEpoch > order.maxPricePerEpoch) {
            revert PriceOutOfRange(pricePerEpoch, order.maxPricePerEpoch);
        }
        _checkQualified(order, msg.sender, devices);

        bid.revealed = true;
        bid.pricePerEpoch = pricePerEpoch;
        bid.devices = devices;
        emit BidRevealed(orderId, slot - 1, msg.sender, pricePerEpoch);
    }

    /// @inheritdoc IMarketplace
    function closeAuction(uint256 orderId) external returns (bool leased) {
        Order storage order = _openOrder(orderId);
        if (block.timestamp < order.revealEndsAt) revert AuctionNotOver(orderId, order.revealEndsAt);
        Bid[] storage bids = _bids[orderId];
        uint256 winner = _selectWinner(bids);
        _returnDeposits(orderId, order.bidDeposit, bids);

        if (winner == NO_WINNER) {
            order.status = OrderStatus.Unfilled;
            credit[order.customer][order.token] += order.escrow;
            order.escrow = 0;
            emit OrderUnfilled(orderId);
            return false;
        }
        order.status = OrderStatus.Leased;
        _startLease(orderId, order, bids[winner]);
        return true;
    }

    /* LEASES */

    /// @inheritdoc IMarketplace
    function settle(uint256 leaseId, uint64 epoch, uint64 delivered, uint32 breaches, bytes32[] calldata proof)
        external
    {
        Lease storage lease = _activeLease(leaseId);
        _checkDelivery(leaseId, lease, epoch, delivered, breaches, proof);
        uint64 through = epoch < lease.endEpoch ? epoch : lease.endEpoch;
        uint256 due = through - lease.settledThrough;
        uint256 newlyDelivered = delivered - lease.delivered;
        uint256 newlyBreached = breaches - lease.breaches;
        // Cumulative leaves cover every epoch up to `epoch`, and none carries more than the epochs it covers.
        if (newlyDelivered > due * BPS || newlyBreached > due) {
            revert DeliveryExceedsTerm(leaseId, newlyDelivered, newlyBreached, due);
        }
        lease.settledThrough = through;
        lease.delivered = delivered;
        lease.breaches = breaches;
        _pay(leaseId, lease, epoch, due * lease.pricePerEpoch, (newlyDelivered * lease.pricePerEpoch) / BPS);
        if (through == lease.endEpoch) _endLease(leaseId, lease, false);
    }

    /// @inheritdoc IMarketplace
    function topUp(uint256 leaseId, uint256 amount) external {
        Lease storage lease = _activeLease(leaseId);
        if (amount == 0) revert ZeroAmount();
        if (lease.closing) revert LeaseClosing(leaseId);
        if (config.currentEpoch() > lease.endEpoch) revert LeaseRanOut(leaseId, lease.endEpoch);
        uint256 price = lease.pricePerEpoch;
        uint256 needed = (lease.termEndEpoch - lease.settledThrough) * price - lease.escrow;
        if (needed == 0) revert LeaseFullyFunded(leaseId);

        uint256 pulled = Math.min(amount, needed);
        lease.escrow += pulled;
        lease.endEpoch = (lease.settledThrough + lease.escrow / price).toUint64();
        emit LeaseToppedUp(leaseId, msg.sender, pulled, lease.endEpoch);
        _pull(lease.token, msg.sender, pulled);
    }

    /// @inheritdoc IMarketplace
    function giveNotice(uint256 leaseId) external {
        Lease storage lease = _activeLease(leaseId);
        if (msg.sender != lease.customer && msg.sender != lease.provider) revert NotLeaseParty(msg.sender);
        if (lease.closing) revert LeaseClosing(leaseId);
        _cutEnd(lease, config.currentEpoch() + config.param(Param.LeaseNoticeEpochs));
        emit LeaseNoticeGiven(leaseId, msg.sender, lease.endEpoch);
    }

    /// @inheritdoc IMarketplace
    function closeForBreach(uint256 leaseId) external {
        Lease storage lease = _activeLease(leaseId);
        if (msg.sender != lease.customer) revert NotCustomer(msg.sender);
        uint256 required = config.param(Param.SlaBreachEpochs);
        if (lease.breaches < required) revert NotEnoughBreaches(leaseId, lease.breaches, required);
        // A settled breach means an epoch of the lease has ended, so the current epoch is past its start.
        _cutEnd(lease, config.currentEpoch() - 1);
        emit LeaseClosedForBreach(leaseId, lease.breaches, lease.endEpoch);
        if (lease.endEpoch == lease.settledThrough) _endLease(leaseId, lease, false);
    }

    /// @inheritdoc IMarketplace
    function expireLease(uint256 leaseId) external {
        Lease storage lease = _activeLease(leaseId);
        uint256 endsAt = config.epochEnd(lease.endEpoch) + SETTLEMENT_GRACE;
        if (block.timestamp < endsAt) revert SettlementGraceNotOver(leaseId, endsAt);
        _endLease(leaseId, lease, true);
    }

    /* PAYOUTS */

    /// @inheritdoc IMarketplace
    function withdraw(IERC20 token) external returns (uint256 amount) {
        amount = credit[msg.sender][token];
        if (amount == 0) revert NothingToWithdraw(token);
        credit[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IMarketplace
    function sweepFees(IERC20 token) external returns (uint256 amount) {
        amount = feesAccrued[token];
        if (amount == 0) revert ZeroAmount();
        address treasury = config.treasury();
        if (treasury == address(0) && address(token) != address(mesh)) revert NoTreasury(token);
        feesAccrued[token] = 0;
        emit FeesSwept(token, treasury, amount);
        if (treasury == address(0)) mesh.burn(amount);
        else token.safeTransfer(treasury, amount);
    }

    /* VIEWS */

    /// @inheritdoc IMarketplace
    function bidCommitment(
        uint256 orderId,
        address provider,
        uint128 pricePerEpoch,
        address[] calldata devices,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(orderId, provider, pricePerEpoch, devices, salt));
    }

    /// @inheritdoc IMarketplace
    function leaseLeaf(uint256 leaseId, uint64 delivered, uint32 breaches) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaseId, delivered, breaches))));
    }

    /// @inheritdoc IMarketplace
    function getOrder(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @inheritdoc IMarketplace
    function getBids(uint256 orderId) external view returns (Bid[] memory) {
        return _bids[orderId];
    }

    /// @inheritdoc IMarketplace
    function getLease(uint256 leaseId) external view returns (Lease memory) {
        return _leases[leaseId];
    }

    /* INTERNAL */

    function _postOrder(OrderTerms calldata terms, uint256 escrow) private returns (uint256 orderId) {
        if (address(terms.token) != address(mesh) && !config.isPaymentToken(address(terms.token))) {
            revert TokenNotAllowed(terms.token);
        }
        if (terms.capacity == 0 || terms.durationEpochs == 0 || terms.maxPricePerEpoch == 0) {
            revert InvalidOrderTerms();
        }
        if (terms.minDeliveryBps > BPS) revert InvalidOrderTerms();
        _checkRegion(terms.region);
        if (escrow < terms.maxPricePerEpoch) revert EscrowTooSmall(escrow, terms.maxPricePerEpoch);

        uint256 commitEndsAt = block.timestamp + config.param(Param.BidCommitWindow);
        orderId = ++orderCount;
        Order storage order = _orders[orderId];
        order.customer = msg.sender;
        order.status = OrderStatus.Open;
        order.resourceClass = terms.resourceClass;
        order.minDeliveryBps = terms.minDeliveryBps;
        order.durationEpochs = terms.durationEpochs;
        order.capacity = terms.capacity;
        order.token = terms.token;
        order.commitEndsAt = commitEndsAt.toUint40();
        order.revealEndsAt = (commitEndsAt + config.param(Param.BidRevealWindow)).toUint40();
        order.maxPricePerEpoch = terms.maxPricePerEpoch;
        order.minStake = terms.minStake;
        order.escrow = escrow;
        order.bidDeposit = config.param(Param.BidDeposit);
        order.region = terms.region;
        emit OrderPosted(
            orderId,
            msg.sender,
            terms.token,
            terms.resourceClass,
            terms.capacity,
            terms.durationEpochs,
            terms.maxPricePerEpoch,
            escrow
        );
        _pull(terms.token, msg.sender, escrow);
    }

    /// @dev Reverts unless (leaseId, delivered, breaches) is a leaf of the finalised verdict of `epoch`, an epoch past
    /// the lease's settled ones, and the cumulative values did not decrease.
    function _checkDelivery(
        uint256 leaseId,
        Lease storage lease,
        uint64 epoch,
        uint64 delivered,
        uint32 breaches,
        bytes32[] calldata proof
    ) private view {
        if (epoch <= lease.settledThrough) revert AlreadySettled(leaseId, lease.settledThrough);
        VerdictRecord memory verdict = hub.getVerdict(epoch);
        if (verdict.status != VerdictStatus.Finalised) revert VerdictNotFinal(epoch);
        if (!MerkleProof.verifyCalldata(proof, verdict.leasesRoot, leaseLeaf(leaseId, delivered, breaches))) {
            revert InvalidDeliveryProof(leaseId, epoch);
        }
        if (delivered < lease.delivered || breaches < lease.breaches) revert DeliveryDecreased(leaseId);
    }

    /// @dev Moves `cost` out of the escrow: `paid` to the provider less the fee and, for a third-party settler, the
    /// bounty; the rest to the customer.
    function _pay(uint256 leaseId, Lease storage lease, uint64 verdictEpoch, uint256 cost, uint256 paid) private {
        uint256 fee = (paid * lease.feeBps) / BPS;
        uint256 bounty = msg.sender == lease.customer || msg.sender == lease.provider
            ? 0
            : (paid * config.param(Param.SettlementBountyBps)) / BPS;
        lease.escrow -= cost;
        IERC20 token = lease.token;
        credit[lease.provider][token] += paid - fee - bounty;
        credit[lease.customer][token] += cost - paid;
        if (bounty != 0) credit[msg.sender][token] += bounty;
        feesAccrued[token] += fee;
        emit LeaseSettled(leaseId, verdictEpoch, lease.settledThrough, paid, cost - paid, fee, bounty, msg.sender);
    }

    function _checkRegion(uint64[] calldata region) private pure {
        if (region.length > MAX_REGION_CELLS) revert InvalidRegion(MAX_REGION_CELLS);
        for (uint256 i; i < region.length; ++i) {
            if (!H3.isValidCell(region[i])) revert InvalidRegion(i);
        }
    }

    /// @dev Reverts with the first reason the bid does not qualify for the order.
    function _checkQualified(Order storage order, address provider, address[] calldata devices) private view {
        uint256 n = devices.length;
        if (n == 0 || n > MAX_LEASE_DEVICES) revert InvalidDeviceList();
        uint256 capacity;
        for (uint256 i; i < n; ++i) {
            if (i != 0 && devices[i] <= devices[i - 1]) revert InvalidDeviceList();
            capacity += _checkDevice(order, provider, devices[i]);
        }
        if (capacity < order.capacity) revert CapacityTooLow(capacity, order.capacity);
        uint256 stake = staking.selfStake(provider);
        if (stake < order.minStake) revert StakeTooLow(stake, order.minStake);
        uint256 jailed = registry.jailedDevices(provider);
        if (jailed != 0) revert ProviderHasJailedDevices(provider, jailed);
    }

    function _checkDevice(Order storage order, address provider, address device) private view returns (uint256) {
        Device memory d = registry.getDevice(device);
        if (d.operator != provider) revert NotDeviceOperator(device, provider);
        if (d.status != DeviceStatus.Active) revert DeviceNotActive(device);
        if (d.resourceClass != order.resourceClass) revert WrongResourceClass(device, d.resourceClass);
        uint256 leased = leaseOfDevice[device];
        if (leased != 0) revert DeviceLeased(device, leased);
        if (order.region.length != 0 && !_inRegion(order.region, d.location)) revert OutsideRegion(device, d.location);
        return d.capacity;
    }

    function _inRegion(uint64[] storage region, uint64 location) private view returns (bool) {
        if (location == 0) return false;
        for (uint256 i; i < region.length; ++i) {
            if (H3.contains(region[i], location)) return true;
        }
        return false;
    }

    /// @dev The lowest revealed price whose devices are still the provider's, Active and free; ties go to the earlier
    /// commitment. At most `MAX_BIDS` rounds over at most `MAX_BIDS` bids.
    function _selectWinner(Bid[] storage bids) private view returns (uint256 best) {
        uint256 excluded; // bit i: bid i is no longer available
        for (uint256 round; round < bids.length; ++round) {
            best = NO_WINNER;
            for (uint256 i; i < bids.length; ++i) {
                if (!bids[i].revealed || excluded & (1 << i) != 0) continue;
                if (best == NO_WINNER || bids[i].pricePerEpoch < bids[best].pricePerEpoch) best = i;
            }
            if (best == NO_WINNER || _available(bids[best])) return best;
            excluded |= 1 << best;
        }
        return NO_WINNER;
    }

    /// @dev What may have changed since the bid was revealed: the devices' operator, status and leases.
    function _available(Bid storage bid) private view returns (bool) {
        for (uint256 i; i < bid.devices.length; ++i) {
            address device = bid.devices[i];
            Device memory d = registry.getDevice(device);
            if (d.operator != bid.provider || d.status != DeviceStatus.Active || leaseOfDevice[device] != 0) {
                return false;
            }
        }
        return true;
    }

    function _returnDeposits(uint256 orderId, uint256 deposit, Bid[] storage bids) private {
        if (deposit == 0) return;
        uint256 forfeitBps = config.param(Param.UnrevealedForfeitBps);
        uint256 forfeitedTotal;
        for (uint256 i; i < bids.length; ++i) {
            uint256 forfeited = bids[i].revealed ? 0 : (deposit * forfeitBps) / BPS;
            forfeitedTotal += forfeited;
            credit[bids[i].provider][mesh] += deposit - forfeited;
            emit BidDepositReturned(orderId, i, deposit - forfeited, forfeited);
        }
        feesAccrued[mesh] += forfeitedTotal;
    }

    function _startLease(uint256 leaseId, Order storage order, Bid storage bid) private {
        uint128 price = bid.pricePerEpoch;
        uint64 start = config.currentEpoch() + 1;
        // The escrow pays at least one epoch: it covers the maximum price, and the winning price is at most that.
        uint256 epochs = Math.min(order.durationEpochs, order.escrow / price);
        uint256 cost = epochs * price;
        uint256 surplus = order.escrow - cost;
        order.escrow = 0;

        Lease storage lease = _leases[leaseId];
        lease.customer = order.customer;
        lease.status = LeaseStatus.Active;
        lease.minDeliveryBps = order.minDeliveryBps;
        lease.feeBps = config.param(Param.MarketFeeBps).toUint16();
        lease.provider = bid.provider;
        lease.startEpoch = start;
        lease.termEndEpoch = start + order.durationEpochs - 1;
        lease.token = order.token;
        lease.endEpoch = (start + epochs - 1).toUint64();
        lease.settledThrough = start - 1;
        lease.pricePerEpoch = price;
        lease.escrow = cost;
        lease.devices = bid.devices;
        for (uint256 i; i < bid.devices.length; ++i) {
            leaseOfDevice[bid.devices[i]] = leaseId;
        }
        if (surplus != 0) credit[order.customer][order.token] += surplus;
        emit LeaseStarted(leaseId, order.customer, bid.provider, price, start, lease.endEpoch, bid.devices);
    }

    /// @dev Marks the lease closing and ends it no later than `last` (never before its last settled epoch); the escrow
    /// for the epochs cut off is credited back to the customer.
    function _cutEnd(Lease storage lease, uint256 last) private {
        lease.closing = true;
        if (last >= lease.endEpoch) return;
        uint64 end = last > lease.settledThrough ? uint64(last) : lease.settledThrough;
        uint256 keep = (end - lease.settledThrough) * uint256(lease.pricePerEpoch);
        credit[lease.customer][lease.token] += lease.escrow - keep;
        lease.escrow = keep;
        lease.endEpoch = end;
    }

    function _endLease(uint256 leaseId, Lease storage lease, bool expired) private {
        uint256 refund = lease.escrow;
        lease.escrow = 0;
        lease.status = LeaseStatus.Ended;
        lease.endedAt = config.currentEpoch();
        for (uint256 i; i < lease.devices.length; ++i) {
            if (leaseOfDevice[lease.devices[i]] == leaseId) delete leaseOfDevice[lease.devices[i]];
        }
        if (refund != 0) credit[lease.customer][lease.token] += refund;
        emit LeaseEnded(leaseId, refund, expired);
    }

    function _openOrder(uint256 orderId) private view returns (Order storage order) {
        order = _orders[orderId];
        if (order.status == OrderStatus.None) revert UnknownOrder(orderId);
        if (order.status != OrderStatus.Open) revert OrderNotOpen(orderId, order.status);
    }

    function _activeLease(uint256 leaseId) private view returns (Lease storage lease) {
        lease = _leases[leaseId];
        if (lease.status != LeaseStatus.Active) revert LeaseNotActive(leaseId, lease.status);
    }

    /// @dev Pulls exactly `amount`: a token that delivers less (a transfer fee) is refused.
    function _pull(IERC20 token, address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(token, amount, received);
    }
}
