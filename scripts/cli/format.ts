/**
 * Output of the CLI: receipts with their events decoded by the protocol's ABIs ("EventName(arg=value, ...)"), revert
 * data decoded into the protocol's custom errors, MESH amounts and times in readable form.
 */
import {
  ErrorFragment,
  EventFragment,
  Fragment,
  Interface,
  formatEther,
  formatUnits,
  getAddress,
  type InterfaceAbi,
  type JsonFragment,
  type Log,
  type ParamType,
  type TransactionReceipt,
} from "ethers";

import type { Meshwork } from "../../sdk/deployment";
import {
  EmissionSchedule__factory,
  EpochSeed__factory,
  FunctionsVerdictConfirmer__factory,
  Marketplace__factory,
  MeshGovernor__factory,
  MeshTimelock__factory,
  MeshToken__factory,
  OracleHub__factory,
  ProtocolConfig__factory,
  ProviderRegistry__factory,
  RewardsDistributor__factory,
  Slashing__factory,
  Staking__factory,
  VotingPower__factory,
} from "../../typechain-types";

const ABIS: readonly InterfaceAbi[] = [
  MeshToken__factory.abi,
  ProtocolConfig__factory.abi,
  ProviderRegistry__factory.abi,
  Staking__factory.abi,
  Slashing__factory.abi,
  EmissionSchedule__factory.abi,
  EpochSeed__factory.abi,
  OracleHub__factory.abi,
  RewardsDistributor__factory.abi,
  Marketplace__factory.abi,
  VotingPower__factory.abi,
  MeshTimelock__factory.abi,
  MeshGovernor__factory.abi,
  FunctionsVerdictConfirmer__factory.abi,
];

let combined: Interface | undefined;

/** Every error and event of the protocol's contracts in one interface (first declaration of a signature wins). */
export function protocolInterface(): Interface {
  if (combined !== undefined) return combined;
  const seen = new Set<string>();
  const fragments: Fragment[] = [];
  for (const abi of ABIS) {
    const items = typeof abi === "string" ? (JSON.parse(abi) as JsonFragment[]) : abi;
    for (const item of items) {
      const fragment = Fragment.from(item);
      if (!(fragment instanceof ErrorFragment) && !(fragment instanceof EventFragment)) continue;
      const key = `${fragment.type}:${fragment.format("sighash")}`;
      if (seen.has(key)) continue;
      seen.add(key);
      fragments.push(fragment);
    }
  }
  combined = new Interface(fragments);
  return combined;
}

/** A revert's data as "ErrorName(arg=value, ...)", or null when it is empty or not a protocol error. */
export function decodeRevert(data: string | null | undefined): string | null {
  if (data === null || data === undefined || data === "0x" || data.length < 10) return null;
  if (data.startsWith("0x08c379a0") || data.startsWith("0x4e487b71")) {
    // Error(string) and Panic(uint256): ethers' own reason is readable; decode here for a uniform line.
    try {
      const parsed = Interface.from(["error Error(string)", "error Panic(uint256)"]).parseError(data);
      if (parsed !== null) return formatCall(parsed.name, parsed.fragment.inputs, parsed.args);
    } catch {
      return null;
    }
  }
  try {
    const parsed = protocolInterface().parseError(data);
    return parsed === null ? null : formatCall(parsed.name, parsed.fragment.inputs, parsed.args);
  } catch {
    return null;
  }
}

/** "Name(a=1, b=0x..)" with the fragment's parameter names. */
export function formatCall(name: string, inputs: readonly ParamType[], args: ArrayLike<unknown>): string {
  const parts = inputs.map((input, i) => `${input.name || `arg${i}`}=${formatValue(input, args[i])}`);
  return `${name}(${parts.join(", ")})`;
}

/** A decoded ABI value: integers in decimal, addresses checksummed, tuples as (k=v), arrays as [..]. */
export function formatValue(type: ParamType, value: unknown): string {
  if (type.isArray()) {
    const items = value as ArrayLike<unknown>;
    return `[${Array.from(items, (v) => formatValue(type.arrayChildren, v)).join(", ")}]`;
  }
  if (type.isTuple()) {
    const items = value as ArrayLike<unknown>;
    return `(${type.components.map((c, i) => `${c.name || i}=${formatValue(c, items[i])}`).join(", ")})`;
  }
  if (type.type === "address" && typeof value === "string") return getAddress(value);
  if (type.type === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return value.toString();
  return String(value);
}

/** Decodes logs of a deployment's contracts, each with the ABI of the contract that emitted it. */
export class EventDecoder {
  private readonly byAddress = new Map<string, Interface>();

  static async of(meshwork: Meshwork): Promise<EventDecoder> {
    const decoder = new EventDecoder();
    const contracts = [
      meshwork.token,
      meshwork.config,
      meshwork.registry,
      meshwork.staking,
      meshwork.slashing,
      meshwork.schedule,
      meshwork.seeds,
      meshwork.hub,
      meshwork.distributor,
      meshwork.marketplace,
      ...(meshwork.governance === null
        ? []
        : [meshwork.governance.votes, meshwork.governance.timelock, meshwork.governance.governor]),
    ];
    for (const c of contracts) decoder.byAddress.set((await c.getAddress()).toLowerCase(), c.interface);
    return decoder;
  }

  /** "EventName(arg=value, ...)", or a raw description for a log no known ABI decodes. */
  format(log: Log): string {
    const own = this.byAddress.get(log.address.toLowerCase());
    for (const iface of own === undefined ? [protocolInterface()] : [own, protocolInterface()]) {
      try {
        const parsed = iface.parseLog({ topics: [...log.topics], data: log.data });
        if (parsed !== null) return formatCall(parsed.name, parsed.fragment.inputs, parsed.args);
      } catch {
        // Not this ABI's event (or undecodable data): try the next.
      }
    }
    return `unknown event from ${log.address} (topic ${log.topics[0] ?? "none"})`;
  }
}

/** The lines printed for a mined transaction: its hash, block and gas, then one line per event. */
export function receiptLines(label: string, receipt: TransactionReceipt, decoder: EventDecoder): string[] {
  const lines = [`${label}: tx ${receipt.hash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`];
  for (const log of receipt.logs) lines.push(`  ${decoder.format(log)}`);
  return lines;
}

/** "1234.5 MESH". */
export function formatMesh(wei: bigint): string {
  return `${formatEther(wei)} MESH`;
}

/** An amount of a token with `decimals` decimals: "12.5 USDC" (MESH amounts read as `formatMesh` does). */
export function formatAmount(amount: bigint, token: { decimals: number; symbol: string }): string {
  return `${formatUnits(amount, token.decimals)} ${token.symbol}`;
}

/** A unix time as "2025-01-02T03:04:05Z (unix 1735787045)". */
export function formatTime(unix: bigint | number): string {
  const seconds = Number(unix);
  return `${new Date(seconds * 1000).toISOString().replace(".000Z", "Z")} (unix ${seconds})`;
}

/** "3d 4h 5m" for a positive number of seconds. */
export function formatDuration(seconds: bigint): string {
  if (seconds <= 0n) return "0s";
  const d = seconds / 86_400n;
  const h = (seconds % 86_400n) / 3_600n;
  const m = (seconds % 3_600n) / 60n;
  const s = seconds % 60n;
  const parts = [d > 0n ? `${d}d` : "", h > 0n ? `${h}h` : "", m > 0n ? `${m}m` : "", d === 0n && h === 0n ? `${s}s` : ""];
  return parts.filter((p) => p !== "").join(" ");
}

/** Writes lines to stdout. */
export function print(...lines: string[]): void {
  for (const line of lines) process.stdout.write(`${line}\n`);
}

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}
