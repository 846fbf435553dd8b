/**
 * `status <operator>`: an operator's devices (from DeviceRegistered and DeviceTransferred events, current state from
 * `getDevice`), self-stake against required stake, delegated stake, unbonding queue and pending rewards.
 */
import { Command } from "commander";

import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import type { DeviceStructOutput } from "../../typechain-types/contracts/ProviderRegistry";
import { enumName, parseAddress } from "./args";
import { globalsOf, openRead, withSession, type ReadSession } from "./context";
import { formatDuration, formatMesh, formatTime, print, toJson } from "./format";

export interface OperatorStatus {
  operator: string;
  selfStake: bigint;
  requiredStake: bigint;
  delegated: bigint;
  delegatedShares: bigint;
  commissionBps: bigint;
  stalled: boolean;
  jailedDevices: bigint;
  pendingRewards: bigint;
  devices: {
    device: string;
    resourceClass: string;
    status: string;
    capacity: bigint;
    location: string | null;
    metadataURI: string;
  }[];
  unbonding: { operator: string; delegated: boolean; value: bigint; releaseAt: bigint; released: boolean }[];
  at: bigint;
}

export function statusCommand(): Command {
  return new Command("status")
    .description("an operator's devices, stake, delegations, unbonding queue and pending rewards")
    .argument("<operator>", "operator address")
    .option("--json", "machine-readable output (amounts in wei as decimal strings)")
    .action(async (operatorText: string, options: { json?: boolean }, command: Command) => {
      const operator = parseAddress(operatorText, "operator");
      await withSession(openRead(globalsOf(command)), async (s) => {
        const status = await operatorStatus(s, operator);
        if (options.json === true) print(toJson(status));
        else print(...statusLines(status));
      });
    });
}

export async function operatorStatus(s: ReadSession, operator: string): Promise<OperatorStatus> {
  const { registry, staking } = s.meshwork;
  const devices: OperatorStatus["devices"] = [];
  for (const { device, record: d } of await operatorDevices(s, operator)) {
    devices.push({
      device,
      resourceClass: enumName(ResourceClass, d.resourceClass),
      status: enumName(DeviceStatus, d.status),
      capacity: d.capacity,
      location: d.location === 0n ? null : d.location.toString(16),
      metadataURI: d.metadataURI,
    });
  }

  const [selfStake, requiredStake, record, commission, stalled, jailed, pendingRewards, queue, now] = await Promise.all([
    staking.selfStake(operator),
    registry.requiredStake(operator),
    staking.getOperatorStake(operator),
    staking.commissionOf(operator),
    staking.isStalled(operator),
    registry.jailedDevices(operator),
    staking.pendingRewards(operator, operator),
    staking.pendingUnbondings(operator),
    s.now(),
  ]);
  const unbonding: OperatorStatus["unbonding"] = [];
  for (const r of queue) {
    const value = await staking.unbondingValue({
      operator: r.operator,
      releaseAt: r.releaseAt,
      delegated: r.delegated,
      generation: r.generation,
      shares: r.shares,
    });
    unbonding.push({ operator: r.operator, delegated: r.delegated, value, releaseAt: r.releaseAt, released: r.releaseAt <= now });
  }
  return {
    operator,
    selfStake,
    requiredStake,
    delegated: record.delegated.tokens,
    delegatedShares: record.delegated.shares,
    commissionBps: commission,
    stalled,
    jailedDevices: jailed,
    pendingRewards,
    devices,
    unbonding,
    at: now,
  };
}

/** The devices `operator` operates now (registered to it or transferred in, and not transferred away since). */
export async function operatorDevices(
  s: ReadSession,
  operator: string,
): Promise<{ device: string; record: DeviceStructOutput }[]> {
  const { registry } = s.meshwork;
  const from = s.meshwork.deployment.block ?? 0;
  const [registered, transferredIn] = await Promise.all([
    registry.queryFilter(registry.filters.DeviceRegistered(undefined, operator), from),
    registry.queryFilter(registry.filters.DeviceTransferred(undefined, undefined, operator), from),
  ]);
  const candidates = [...new Set([...registered, ...transferredIn].map((e) => e.args.device))];
  const devices = [];
  for (const device of candidates) {
    const record = await registry.getDevice(device);
    if (record.operator === operator) devices.push({ device, record });
  }
  return devices;
}

function statusLines(st: OperatorStatus): string[] {
  const covered = st.selfStake >= st.requiredStake ? "covered" : `SHORT by ${formatMesh(st.requiredStake - st.selfStake)}`;
  const lines = [
    `operator        ${st.operator}`,
    `self-stake      ${formatMesh(st.selfStake)}`,
    `required stake  ${formatMesh(st.requiredStake)} (${covered})`,
    `delegated       ${formatMesh(st.delegated)} (${st.delegatedShares} shares)`,
    `commission      ${st.commissionBps} bps`,
    `stalled         ${st.stalled ? "yes" : "no"}`,
    `pending rewards ${formatMesh(st.pendingRewards)}`,
    `devices         ${st.devices.length}${st.jailedDevices > 0n ? ` (${st.jailedDevices} jailed)` : ""}`,
  ];
  for (const d of st.devices) {
    const where = d.location === null ? "" : `  cell ${d.location}`;
    lines.push(`  ${d.device}  ${d.resourceClass}  capacity ${d.capacity}  ${d.status}${where}`);
  }
  lines.push(`unbonding       ${st.unbonding.length} request(s)`);
  for (const u of st.unbonding) {
    const when = u.released ? "released" : `releases ${formatTime(u.releaseAt)}, in ${formatDuration(u.releaseAt - st.at)}`;
    const kind = u.delegated ? `delegated to ${u.operator}` : "self-stake";
    lines.push(`  ${formatMesh(u.value)}  ${kind}  ${when}`);
  }
  return lines;
}
