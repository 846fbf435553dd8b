// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ud, exp2} from "@prb/math/src/UD60x18.sol";

/// @title EmissionMath
/// @notice Closed-form cumulative emission of one schedule segment over its first `n` epochs, for the three shapes of
/// `IEmissionSchedule`. No function loops over epochs; every result rounds DOWN (never above the real-valued
/// schedule), so a schedule built from them never promises more than its formula.
/// @dev Preconditions (enforced by `EmissionSchedule`'s hard-coded bounds): amounts below 2^90 (1e27 < 2^90),
/// periods and half-lives in [1, 2^17), rates and steps at most 1e15, `n` at most 2^64.
library EmissionMath {
    /// @dev Fixed-point scale of inflation rates and of the exp2 result (1.0 = 1e18).
    uint256 internal constant WAD = 1e18;

    /// @dev Upper bound, in units of 1e-18, on how far PRBMath's `exp2` can land above 2^x for x in [0, 1). Its 64
    /// constants are rounded to nearest; where they round up, their product exceeds the exact one by at most
    /// 3.9e-19 relative (checked against 80-digit values), i.e. < 0.8 units on a result below 2e18, and every other
    /// step truncates. So `exp2(x) - EXP2_OVERSHOOT` never exceeds 1e18 * 2^x.
    uint256 internal constant EXP2_OVERSHOOT = 1;

    /// @notice Halving (Helium HIP-20 style): `initialEmission` per epoch for `period` epochs, then half of it for
    /// the next `period` epochs, and so on (real halvings, no per-epoch truncation). Rounds down, exactly.
    /// @dev With k = n / period and r = n % period the sum is
    /// `period * R * (2 - 2^(1-k)) + r * R / 2^k = R * (period * (2^(k+1) - 2) + r) / 2^k`, floored by a shift. For
    /// k >= 128 the missing tail `R * (2 * period - r) / 2^k` lies in (0, 1) (R < 2^90, period < 2^17), so the floor is
    /// exactly `2 * period * R - 1`.
    /// @param initialEmission R: token wei emitted in each epoch of the first period.
    /// @param period Epochs between halvings (non-zero).
    /// @param n Epochs elapsed since the segment start.
    function halvingCumulativeDown(uint256 initialEmission, uint256 period, uint256 n) internal pure returns (uint256) {
        if (initialEmission == 0) return 0;
        uint256 k = n / period;
        if (k >= 128) return 2 * period * initialEmission - 1;
        return (initialEmission * (period * ((2 << k) - 2) + n % period)) >> k;
    }

    /// @notice Exponential decay (Filecoin simple minting): `total * (1 - 2^(-n / halfLife))`, rounded down.
    /// @dev 2^(-n/T) = 2^(-q) * 2^(-r/T) with q = n / T, r = n % T. The fraction comes from PRBMath's UD60x18 `exp2`
    /// (64 unrolled bit steps, no loop) at the floored exponent r*1e18/T, lowered by `EXP2_OVERSHOOT`: a lower bound of
    /// 1e18 * 2^(r/T). The remaining tail `total * 2^(-n/T)` is then bounded from above by a ceiling division and a
    /// ceiling shift by q, and the result is `total` minus that bound. So the result never exceeds the exact floor;
    /// it falls short of the exact value by less than `total * 2^(-n/T) * 4e-18 + 2` wei: the exp2 input floor,
    /// constant rounding and final floor cost < 1.2e-18 relative + 1 unit, the overshoot margin 1 unit (the result
    /// is >= 1e18), and the two ceilings < 1 wei each.
    /// @param total S: token wei emitted as n grows without bound.
    /// @param halfLife T: epochs after which half of what is left of `total` has been emitted (non-zero).
    /// @param n Epochs elapsed since the segment start.
    function decayCumulativeDown(uint256 total, uint256 halfLife, uint256 n) internal pure returns (uint256) {
        uint256 q = n / halfLife;
        uint256 r = n % halfLife;
        // growth <= 1e18 * 2^(r/T), and growth > 1e18 whenever r > 0 (2^(1/T) - 1 > 1.8e-5 for T < 2^17).
        uint256 growth = r == 0 ? WAD : exp2(ud((r * WAD) / halfLife)).unwrap() - EXP2_OVERSHOOT;
        uint256 tail = Math.mulDiv(total, WAD, growth, Math.Rounding.Ceil); // >= total * 2^(-r/T), <= total
        if (tail != 0) tail = ((tail - 1) >> q) + 1; // ceil(tail / 2^q); a shift by 256 or more gives 0
        return total - tail;
    }

    /// @notice Inflation rate of the `i`-th epoch of a ramp: `rate0` moved by `step` per epoch in `direction`
    /// (+1 up, -1 down, 0 flat), clamped to [0, maxRate]. Requires `rate0 <= maxRate`.
    function rampRate(uint256 rate0, int256 direction, uint256 step, uint256 maxRate, uint256 i)
        internal
        pure
        returns (uint256)
    {
        if (direction == 0 || step == 0) return rate0;
        if (direction > 0) {
            return i >= Math.ceilDiv(maxRate - rate0, step) ? maxRate : rate0 + step * i;
        }
        return i >= Math.ceilDiv(rate0, step) ? 0 : rate0 - step * i;
    }

    /// @notice Sum of `rampRate(.., i)` for i in [0, n): an arithmetic series until the clamp, then constant. Exact.
    /// @dev Rising: the rate stays below `maxRate` for the first m = ceil((maxRate - rate0) / step) epochs; falling: it
    /// stays above 0 for the first m = ceil(rate0 / step). With k = min(n, m) the sum is
    /// `k * rate0 +/- step * k(k-1)/2`, plus `(n - k) * maxRate` when rising. k <= maxRate / step + 1 keeps k(k-1)
    /// small.
    function rampSum(uint256 rate0, int256 direction, uint256 step, uint256 maxRate, uint256 n)
        internal
        pure
        returns (uint256)
    {
        if (direction == 0 || step == 0) return rate0 * n;
        if (direction > 0) {
            uint256 k = Math.min(n, Math.ceilDiv(maxRate - rate0, step));
            return k * rate0 + step * _triangle(k) + (n - k) * maxRate;
        }
        uint256 kDown = Math.min(n, Math.ceilDiv(rate0, step));
        return kDown * rate0 - step * _triangle(kDown);
    }

    /// @notice Targeted inflation (Livepeer style) on a fixed base: `floor(base * rampSum(..) / WAD)`. Exact floor.
    /// @param base Token supply the rates apply to (wei).
    function inflationCumulativeDown(
        uint256 base,
        uint256 rate0,
        int256 direction,
        uint256 step,
        uint256 maxRate,
        uint256 n
    ) internal pure returns (uint256) {
        return Math.mulDiv(base, rampSum(rate0, direction, step, maxRate, n), WAD);
    }

    /// @dev 0 + 1 + ... + (k - 1).
    function _triangle(uint256 k) private pure returns (uint256) {
        return k == 0 ? 0 : (k * (k - 1)) / 2;
    }
}
