/**
 * Staking commands of operators and delegators: `stake`, `unstake`, `delegate`, `undelegate`, `withdraw`. Amounts are
 * MESH in decimal; the Staking contract is approved first when the allowance is short.
 */
import { Command } from "commander";

import { parseAddress, parseMesh, parseUint } from "./args";
import { globalsOf, openSend, withSession, type SendSession } from "./context";
import { CliError } from "./errors";
import { formatDuration, formatMesh, formatTime, print } from "./format";

export function stakingCommands(): Command[] {
  const stake = new Command("stake")
    .description("add self-stake to the sending account (an operator): its devices' capacity must be backed")
    .argument("<amount>", "MESH, decimal (e.g. 100 or 2.5)")
    .addHelpText("after", "\nExample:\n  $ MESHWORK_KEY=0x.. npm run cli -- stake 1000")
    .action(async (amount: string, _options: object, command: Command) => {
      const wei = parseMesh(amount);
      await withSession(openSend(globalsOf(command)), async (s) => {
        await fundStaking(s, wei);
        await s.send("stake", s.meshwork.staking.stake(wei));
      });
    });

  const unstake = new Command("unstake")
    .description("move self-stake into the unbonding queue (withdraw it after the unbonding period)")
    .argument("<amount>", "MESH, decimal")
    .action(async (amount: string, _options: object, command: Command) => {
      const wei = parseMesh(amount);
      await withSession(openSend(globalsOf(command)), async (s) => {
        const { staking, registry } = s.meshwork;
        const [have, required] = await Promise.all([staking.selfStake(s.account), registry.requiredStake(s.account)]);
        if (have < wei) throw new CliError(`self-stake is ${formatMesh(have)}, less than ${formatMesh(wei)}`);
        if (have - wei < required) {
          throw new CliError(
            `unstaking ${formatMesh(wei)} would leave ${formatMesh(have - wei)}, below the ${formatMesh(required)} ` +
              `the declared capacity needs (at most ${formatMesh(have - required)} can be unstaked)`,
          );
        }
        await s.send("unstake", staking.unstake(wei));
      });
    });

  const delegate = new Command("delegate")
    .description("delegate MESH to an operator (within its delegation cap)")
    .argument("<operator>", "operator address")
    .argument("<amount>", "MESH, decimal")
    .action(async (operatorText: string, amount: string, _options: object, command: Command) => {
      const operator = parseAddress(operatorText, "operator");
      const wei = parseMesh(amount);
      await withSession(openSend(globalsOf(command)), async (s) => {
        if (operator === s.account) throw new CliError("an operator cannot delegate to itself; use `stake`");
        await fundStaking(s, wei);
        await s.send(`delegate to ${operator}`, s.meshwork.staking.delegate(operator, wei));
      });
    });

  const undelegate = new Command("undelegate")
    .description("move delegated MESH back through the unbonding queue (the amount is converted to pool shares)")
    .argument("<operator>", "operator address")
    .argument("<amount>", "MESH, decimal (at most the delegation's current value)")
    .action(async (operatorText: string, amount: string, _options: object, command: Command) => {
      const operator = parseAddress(operatorText, "operator");
      const wei = parseMesh(amount);
      await withSession(openSend(globalsOf(command)), async (s) => {
        const [shares, tokens] = await s.meshwork.staking.delegationOf(operator, s.account);
        if (shares === 0n) throw new CliError(`${s.account} has no delegation to ${operator}`);
        if (wei > tokens) {
          throw new CliError(`the delegation to ${operator} is worth ${formatMesh(tokens)}, less than ${formatMesh(wei)}`);
        }
        const burn = sharesFor(wei, shares, tokens);
        print(`undelegating ${formatMesh(wei)} = ${burn} of ${shares} shares`);
        await s.send(`undelegate from ${operator}`, s.meshwork.staking.undelegate(operator, burn));
      });
    });

  const withdraw = new Command("withdraw")
    .description("pay out the sending account's released unbonding requests")
    .option("--max <n>", "at most this many requests (default: all pending)")
    .action(async (options: { max?: string }, command: Command) => {
      const max = options.max === undefined ? undefined : parseUint(options.max, "--max", 1n << 32n);
      await withSession(openSend(globalsOf(command)), async (s) => {
        const [pending, now] = await Promise.all([s.meshwork.staking.pendingUnbondings(s.account), s.now()]);
        if (pending.length === 0) throw new CliError(`${s.account} has no unbonding requests`);
        const released = pending.filter((r) => r.releaseAt <= now);
        if (released.length === 0) {
          const next = pending.reduce((a, r) => (r.releaseAt < a ? r.releaseAt : a), pending[0].releaseAt);
          throw new CliError(
            `nothing to withdraw yet: ${pending.length} request(s) pending, the first releases at ` +
              `${formatTime(next)}, in ${formatDuration(next - now)}`,
          );
        }
        await s.send("withdraw", s.meshwork.staking.withdraw(max ?? BigInt(pending.length)));
      });
    });

  return [stake, unstake, delegate, undelegate, withdraw];
}

/** Shares to burn for `amount` of a delegation of `shares` worth `tokens`: rounded up, never more than held. */
export function sharesFor(amount: bigint, shares: bigint, tokens: bigint): bigint {
  if (amount >= tokens) return shares;
  const up = (amount * shares + tokens - 1n) / tokens;
  return up > shares ? shares : up;
}

/** Checks the balance and approves the Staking contract for `amount` when the allowance is short. */
async function fundStaking(s: SendSession, amount: bigint): Promise<void> {
  const { token, staking } = s.meshwork;
  const stakingAddress = await staking.getAddress();
  const [balance, allowance] = await Promise.all([
    token.balanceOf(s.account),
    token.allowance(s.account, stakingAddress),
  ]);
  if (balance < amount) {
    throw new CliError(`${s.account} holds ${formatMesh(balance)}, less than ${formatMesh(amount)}`);
  }
  if (allowance < amount) await s.send("approve Staking", token.approve(stakingAddress, amount));
}
