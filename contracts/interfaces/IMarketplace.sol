// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ResourceClass} from "../types/Types.sol";

/// @notice What a customer asks for when posting an order.
struct OrderTerms {
    ResourceClass resourceClass;
    uint16 minDeliveryBps; // service level: an epoch delivered below it is a breach
    uint32 durationEpochs; // lease term
    uint64 capacity; // smallest total declared capacity of the bid's devices, in the class's units
    IERC20 token; // payment token: MESH or one governance allows
    uint128 maxPricePerEpoch; // highest price per epoch for the whole order, in token units
    uint128 minStake; // smallest self-stake of the provider, in MESH wei
    uint64[] region; // H3 cells the devices must lie in (empty: anywhere)
}

/// @notice Where an order stands.
enum OrderStatus {
    None,
    Open, // bids are committed, then revealed
    Leased, // the auction closed with a winner: the order is now the lease of the same id
    Unfilled, // the auction closed without a qualifying bid; the escrow went back
    Cancelled // withdrawn by the customer before any bid
}

/// @notice A posted order and its auction.
/// @dev Seven storage slots (plus the region's cells), the fewest these fields fit in. Its bids are `getBids`.
// solhint-disable-next-line gas-struct-packing
struct Order {
    address customer;
    OrderStatus status;
    ResourceClass resourceClass;
    uint16 minDeliveryBps;
    uint32 durationEpochs;
    IERC20 token;
    uint40 commitEndsAt; // bids are committed before this time
    uint40 revealEndsAt; // and revealed before this one; the auction closes after it
    uint128 maxPricePerEpoch;
    uint128 minStake;
    uint64 capacity;
    uint256 escrow; // tokens the customer funded, held until the auction closes (then the lease's or refunded)
    uint256 bidDeposit; // MESH each bid deposits (the parameter when the order was posted)
    uint64[] region;
}

/// @notice A sealed bid and, once revealed, what it offers.
struct Bid {
    address provider;
    bool revealed;
    uint128 pricePerEpoch; // zero until revealed
    bytes32 commitment; // bidCommitment(orderId, provider, pricePerEpoch, devices, salt)
    address[] devices; // empty until revealed
}

/// @notice Where a lease stands.
enum LeaseStatus {
    None,
    Active, // paid from escrow per settled epoch; may be closing (notice given or closed for breach)
    Ended // settled through its last epoch, or expired unsettled; escrow and devices released
}

/// @notice A lease: the winning bid of an order, bound to its devices, paid per epoch for verified delivery.
struct Lease {
    address customer;
    LeaseStatus status;
    bool closing; // notice given or closed for breach: no top-up, `endEpoch` is final
    uint16 minDeliveryBps;
    uint16 feeBps; // protocol fee when the lease started
    address provider;
    uint64 startEpoch;
    uint64 termEndEpoch; // last epoch of the full term
    IERC20 token;
    uint64 endEpoch; // last epoch the lease runs (inclusive): the term, the escrow or a close cuts it
    uint64 settledThrough; // last epoch paid for (startEpoch - 1 before the first settlement)
    uint64 delivered; // cumulative delivered basis points settled (leaf value)
    uint32 breaches; // cumulative epochs below the service level settled (leaf value)
    uint64 endedAt; // epoch in which the lease ended (zero while Active)
    uint128 pricePerEpoch;
    uint256 escrow; // tokens held for epochs settledThrough + 1 .. endEpoch
    address[] devices;
}

/// @title IMarketplace
/// @notice The demand side of Meshwork. A customer posts an order with an escrow; providers bid in a sealed-bid reverse
/// auction (commit, then reveal, each bid with a MESH deposit); the lowest qualifying price wins and becomes a lease
/// bound to the bid's devices. For every epoch the oracles' finalised verdict carries each lease's delivered fraction
/// (a Merkle leaf of cumulative delivered basis points and breaches); settling pays the provider price x delivered
/// fraction, less a governed protocol fee, and refunds the rest to the customer. All payouts are pull payments.
/// @dev Trust: nobody can move escrow except as the settlement rules say: the provider is paid only for delivery a
/// finalised verdict proves, and the customer always gets back what was not delivered. Parameters (fee, deposit,
/// windows, forfeit, bounty, notice, service-level epochs) and the payment-token allowlist live in `ProtocolConfig`.
/// Payment tokens must be plain ERC20s (a token that delivers less than sent is refused).
interface IMarketplace {
    /// @notice A customer posted an order.
    event OrderPosted(
        uint256 indexed orderId,
        address indexed customer,
        IERC20 indexed token,
        ResourceClass resourceClass,
        uint64 capacity,
        uint32 durationEpochs,
        uint128 maxPricePerEpoch,
        uint256 escrow
    );
    /// @notice The customer cancelled an order nobody had bid on.
    event OrderCancelled(uint256 indexed orderId);
    /// @notice A provider committed a sealed bid.
    event BidCommitted(uint256 indexed orderId, uint256 bidIndex, address indexed provider, bytes32 commitment);
    /// @notice A provider revealed its bid.
    event BidRevealed(uint256 indexed orderId, uint256 bidIndex, address indexed provider, uint128 pricePerEpoch);
    /// @notice The auction closed without a qualifying bid; the escrow was credited back to the customer.
    event OrderUnfilled(uint256 indexed orderId);
    /// @notice A bid deposit was credited back, less `forfeited` for a bid never revealed.
    event BidDepositReturned(uint256 indexed orderId, uint256 bidIndex, uint256 returned, uint256 forfeited);
    /// @notice The auction's winning bid became a lease.
    event LeaseStarted(
        uint256 indexed leaseId,
        address indexed customer,
        address indexed provider,
        uint128 pricePerEpoch,
        uint64 startEpoch,
        uint64 endEpoch,
        address[] devices
    );
    /// @notice Epochs up to `throughEpoch` were settled against the verdict of `verdictEpoch`.
    event LeaseSettled(
        uint256 indexed leaseId,
        uint64 verdictEpoch,
        uint64 throughEpoch,
        uint256 paid,
        uint256 refunded,
        uint256 fee,
        uint256 bounty,
        address settler
    );
    /// @notice The escrow was topped up, extending the lease to `endEpoch`.
    event LeaseToppedUp(uint256 indexed leaseId, address indexed funder, uint256 amount, uint64 endEpoch);
    /// @notice A side gave notice: the lease runs through `endEpoch`.
    event LeaseNoticeGiven(uint256 indexed leaseId, address indexed by, uint64 endEpoch);
    /// @notice The customer closed a lease that fell below its service level `breaches` times.
    event LeaseClosedForBreach(uint256 indexed leaseId, uint32 breaches, uint64 endEpoch);
    /// @notice A lease ended; `refunded` is the escrow left over, credited to the customer.
    event LeaseEnded(uint256 indexed leaseId, uint256 refunded, bool expired);
    /// @notice Credited tokens were withdrawn.
    event Withdrawn(address indexed account, IERC20 indexed token, uint256 amount);
    /// @notice Accrued protocol fees went to the treasury (or were burned, for MESH without a treasury).
    event FeesSwept(IERC20 indexed token, address to, uint256 amount);

    /// @notice The token is neither MESH nor allowed by governance.
    error TokenNotAllowed(IERC20 token);
    /// @notice The token delivered less than was sent (fee-on-transfer tokens are not supported).
    error TransferShortfall(IERC20 token, uint256 expected, uint256 received);
    /// @notice The order terms are malformed (zero capacity, duration or price, service level above 100 %).
    error InvalidOrderTerms();
    /// @notice Too many region cells, or one that is not an H3 cell.
    error InvalidRegion(uint256 index);
    /// @notice The escrow does not pay for one epoch at the maximum price.
    error EscrowTooSmall(uint256 escrow, uint256 minimum);
    /// @notice No order with this id.
    error UnknownOrder(uint256 orderId);
    /// @notice The order is not open.
    error OrderNotOpen(uint256 orderId, OrderStatus status);
    /// @notice Only the order's or lease's customer may do this.
    error NotCustomer(address caller);
    /// @notice Only the lease's customer or provider may do this.
    error NotLeaseParty(address caller);
    /// @notice The order already has bids.
    error OrderHasBids(uint256 orderId);
    /// @notice The commit window has closed.
    error CommitWindowClosed(uint256 orderId, uint256 closedAt);
    /// @notice The reveal window is not open (it opens when the commit window closes).
    error RevealWindowNotOpen(uint256 orderId, uint256 opensAt, uint256 closesAt);
    /// @notice The reveal window has not closed yet.
    error AuctionNotOver(uint256 orderId, uint256 endsAt);
    /// @notice The order has its maximum number of bids.
    error TooManyBids(uint256 orderId);
    /// @notice The provider already bid on this order.
    error AlreadyBid(uint256 orderId, address provider);
    /// @notice The customer cannot bid on its own order.
    error SelfBid(uint256 orderId);
    /// @notice The caller has no bid on this order.
    error NoBid(uint256 orderId, address provider);
    /// @notice The bid was already revealed.
    error AlreadyRevealed(uint256 orderId, address provider);
    /// @notice The revealed values do not hash to the commitment.
    error CommitmentMismatch(uint256 orderId, address provider);
    /// @notice The price is zero or above the order's maximum.
    error PriceOutOfRange(uint128 price, uint128 maxPrice);
    /// @notice The device list is empty, too long or not strictly ascending.
    error InvalidDeviceList();
    /// @notice The bidder does not operate the device.
    error NotDeviceOperator(address device, address provider);
    /// @notice The device is not Active.
    error DeviceNotActive(address device);
    /// @notice The device is of another resource class than the order.
    error WrongResourceClass(address device, ResourceClass resourceClass);
    /// @notice The device is already bound to an active lease.
    error DeviceLeased(address device, uint256 leaseId);
    /// @notice The device lies outside the order's region.
    error OutsideRegion(address device, uint64 location);
    /// @notice The devices' declared capacity is below the order's.
    error CapacityTooLow(uint256 capacity, uint256 required);
    /// @notice The provider's self-stake is below the order's minimum.
    error StakeTooLow(uint256 stake, uint256 required);
    /// @notice The provider has jailed devices.
    error ProviderHasJailedDevices(address provider, uint256 jailed);
    /// @notice No lease with this id is active.
    error LeaseNotActive(uint256 leaseId, LeaseStatus status);
    /// @notice The epoch's verdict is not final.
    error VerdictNotFinal(uint64 epoch);
    /// @notice The lease is already settled through this epoch.
    error AlreadySettled(uint256 leaseId, uint64 settledThrough);
    /// @notice The delivery leaf is not in the verdict's leases root.
    error InvalidDeliveryProof(uint256 leaseId, uint64 epoch);
    /// @notice The verdict's cumulative values are below what was already settled.
    error DeliveryDecreased(uint256 leaseId);
    /// @notice The leaf adds more delivered basis points (above 10,000 per epoch) or breaches (above one per epoch)
    /// than the `epochs` it settles.
    error DeliveryExceedsTerm(uint256 leaseId, uint256 delivered, uint256 breaches, uint256 epochs);
    /// @notice Notice was given or the lease was closed: its end is final.
    error LeaseClosing(uint256 leaseId);
    /// @notice The lease's paid-for epochs are over (only settlement and expiry remain).
    error LeaseRanOut(uint256 leaseId, uint64 endEpoch);
    /// @notice The escrow already pays for the whole term.
    error LeaseFullyFunded(uint256 leaseId);
    /// @notice The lease has not breached its service level often enough to be closed for it.
    error NotEnoughBreaches(uint256 leaseId, uint32 breaches, uint256 required);
    /// @notice The lease may expire unsettled only after its settlement grace period.
    error SettlementGraceNotOver(uint256 leaseId, uint256 endsAt);
    /// @notice Zero amount.
    error ZeroAmount();
    /// @notice Nothing is credited to the caller in this token.
    error NothingToWithdraw(IERC20 token);
    /// @notice Fees in a token other than MESH need a treasury to go to.
    error NoTreasury(IERC20 token);

    /// @notice Largest number of bids per order (anchor: Akash's bid cap of 20).
    function MAX_BIDS() external view returns (uint256);

    /// @notice Largest number of devices one bid (and lease) binds.
    function MAX_LEASE_DEVICES() external view returns (uint256);

    /// @notice Largest number of H3 cells in an order's region.
    function MAX_REGION_CELLS() external view returns (uint256);

    /// @notice Time after a lease's last epoch ends before it may expire unsettled.
    function SETTLEMENT_GRACE() external view returns (uint256);

    /// @notice Posts an order and pulls `escrow` of `terms.token` from the caller (approved beforehand). The escrow
    /// must pay for at least one epoch at the maximum price; it is credited back if the auction finds no provider.
    function postOrder(OrderTerms calldata terms, uint256 escrow) external returns (uint256 orderId);

    /// @notice `postOrder` with an EIP-2612 permit for the escrow instead of an approval (a permit that fails, e.g.
    /// because someone front-ran it, is ignored if the allowance is already there).
    function postOrderWithPermit(
        OrderTerms calldata terms,
        uint256 escrow,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 orderId);

    /// @notice Cancels an open order without bids and credits its escrow back. Customer only.
    function cancelOrder(uint256 orderId) external;

    /// @notice Commits a sealed bid (see `bidCommitment`) in the commit window, pulling the order's bid deposit in
    /// MESH. One bid per provider; at most `MAX_BIDS` per order.
    function commitBid(uint256 orderId, bytes32 commitment) external returns (uint256 bidIndex);

    /// @notice Reveals the caller's bid in the reveal window. The bid must qualify: price up to the order's maximum;
    /// 1 to `MAX_LEASE_DEVICES` distinct devices (ascending) the caller operates, Active, of the order's class, not
    /// leased, inside the region, with enough total capacity; the caller's self-stake at least the order's minimum
    /// and none of its devices jailed.
    function revealBid(uint256 orderId, uint128 pricePerEpoch, address[] calldata devices, bytes32 salt) external;

    /// @notice Closes the auction after the reveal window. Anyone. The lowest revealed price whose devices are still
    /// available wins (ties: the earlier commitment); it becomes lease `orderId`, starting next epoch, for the term or
    /// as many epochs as the escrow pays, whichever is shorter. Deposits are credited back: revealed bids in full,
    /// unrevealed ones less `UnrevealedForfeitBps` (to the fees). Without a winner, the escrow is credited back.
    function closeAuction(uint256 orderId) external returns (bool leased);

    /// @notice Settles a lease up to `epoch` (capped at its end) with the delivery leaf of that epoch's finalised
    /// verdict: pays price x delivered fraction (less the fee, and the bounty when the caller is neither customer nor
    /// provider) to the provider's credit and credits the rest to the customer. Anyone. One leaf covers every
    /// unsettled epoch up to `epoch` (values are cumulative); epochs without a verdict are refunded. A lease settled
    /// through its last epoch ends.
    function settle(uint256 leaseId, uint64 epoch, uint64 delivered, uint32 breaches, bytes32[] calldata proof)
        external;

    /// @notice Adds escrow to an active lease that is not closing and has not run out, extending it up to its term;
    /// only what the term needs is pulled. Anyone (refunds go to the customer).
    function topUp(uint256 leaseId, uint256 amount) external;

    /// @notice Gives notice: the lease runs `LeaseNoticeEpochs` more epochs (or less, if it ends sooner), and the
    /// escrow beyond that is credited back to the customer. Customer or provider.
    function giveNotice(uint256 leaseId) external;

    /// @notice Closes a lease whose settled breaches reached `SlaBreachEpochs`: it runs no further than the last
    /// epoch that has ended, and the escrow beyond is credited back. The oracles fault the devices that breached.
    /// Customer only.
    function closeForBreach(uint256 leaseId) external;

    /// @notice Ends a lease whose last epoch ended more than `SETTLEMENT_GRACE` ago without being settled through:
    /// the unsettled epochs count as undelivered and the escrow is credited back to the customer. Anyone.
    function expireLease(uint256 leaseId) external;

    /// @notice Withdraws everything credited to the caller in `token` (earnings, refunds, bid deposits).
    function withdraw(IERC20 token) external returns (uint256 amount);

    /// @notice Sends the protocol fees accrued in `token` to the treasury (MESH is burned when there is none). Anyone.
    function sweepFees(IERC20 token) external returns (uint256 amount);

    /// @notice The sealed-bid commitment: keccak256(abi.encode(orderId, provider, pricePerEpoch, devices, salt)).
    function bidCommitment(
        uint256 orderId,
        address provider,
        uint128 pricePerEpoch,
        address[] calldata devices,
        bytes32 salt
    ) external pure returns (bytes32);

    /// @notice Leaf of a verdict's leases root (OpenZeppelin standard Merkle tree leaf of (uint256, uint64, uint32)).
    function leaseLeaf(uint256 leaseId, uint64 delivered, uint32 breaches) external pure returns (bytes32);

    /// @notice Number of orders ever posted (ids run from 1).
    function orderCount() external view returns (uint256);

    /// @notice The order `orderId`.
    function getOrder(uint256 orderId) external view returns (Order memory);

    /// @notice The bids on `orderId`, in commitment order.
    function getBids(uint256 orderId) external view returns (Bid[] memory);

    /// @notice The lease `leaseId` (the id of the order it came from).
    function getLease(uint256 leaseId) external view returns (Lease memory);

    /// @notice The active lease a device is bound to (zero if none).
    function leaseOfDevice(address device) external view returns (uint256);

    /// @notice Tokens credited to `account` in `token`, withdrawable now.
    function credit(address account, IERC20 token) external view returns (uint256);

    /// @notice Protocol fees accrued in `token` and not yet swept.
    function feesAccrued(IERC20 token) external view returns (uint256);
}
