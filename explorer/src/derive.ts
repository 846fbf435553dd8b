/**
 * The explorer's pure derivations: what `data.ts` computes from what it read (chain views, events, verdict files), with
 * no I/O, so they are tested in node (test/explorer/derive.test.ts).
 */
import type { Interface, Result } from "ethers";

import { ClassParam, ConfirmationMode, DeviceStatus, FaultKind, FaultParam, Param, ResourceClass } from "../../sdk/enums";
import type { DeviceState, EmissionPoint } from "./snapshot";

/** Basis points in a whole (class splits). */
export const BPS = 10_000n;

/** The name of `value` in one of sdk/enums' enum objects, or its number when unknown. */
export function enumName(values: Readonly<Record<string, number>>, value: number | bigint): string {
  const n = Number(value);
  return Object.keys(values).find((k) => values[k] === n) ?? String(value);
}

export const className = (c: number | bigint): string => enumName(ResourceClass, c);
export const statusName = (s: number | bigint): string => enumName(DeviceStatus, s);

/**
 * What a device is coloured by: jailed (registry status) first, then slashed (penalised at least once, `faults` > 0),
 * then its lifecycle: exiting and removed devices keep their name, everything else is active.
 */
export function deviceState(status: number | bigint, faults: number): DeviceState {
  const s = Number(status);
  if (s === DeviceStatus.Jailed) return "jailed";
  if (faults > 0) return "slashed";
  if (s === DeviceStatus.Exiting) return "exiting";
  if (s === DeviceStatus.Removed) return "removed";
  return "active";
}

/** `earned - claimed`, never negative (a stale verdict file may show less than was already claimed). */
export function claimable(earned: bigint, claimed: bigint): bigint {
  return earned > claimed ? earned - claimed : 0n;
}

/** Governor `ProposalState` names, in declaration order (OpenZeppelin IGovernor). */
export const PROPOSAL_STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"];
export const proposalStateName = (s: number | bigint): string => PROPOSAL_STATES[Number(s)] ?? String(s);

/** `VerdictStatus` names of the hub, in declaration order. */
export const VERDICT_STATUSES = ["None", "Pending", "Disputed", "Finalised"];

/**
 * An epoch's status as the explorer names it: the hub's, except that an ended epoch with nothing submitted after its
 * submission window closed is "Skipped" (its emission rolls over to the next finalised epoch).
 */
export function epochStatus(hubStatus: number | bigint, epochEnd: bigint, submissionWindow: bigint, now: bigint): string {
  const s = Number(hubStatus);
  if (s === 0 && now >= epochEnd + submissionWindow) return "Skipped";
  return VERDICT_STATUSES[s] ?? String(hubStatus);
}

// ---------------------------------------------------------------------------------------------------------------------
// Emission

export interface EmissionInputs {
  /** `cumulativeEmission(e)` for e = 0 .. n (n + 1 values; the first is normally 0): n epochs. */
  cumulative: readonly bigint[];
  /** `classSplitAt(e)` (basis points, index = ResourceClass) for e = 0 .. n - 1. */
  splits: readonly (readonly (number | bigint)[])[];
  /** Per epoch, the verdict file's `classes[].allocated` by class, or null when the file was not read. */
  allocated: readonly (readonly bigint[] | null)[];
  /** The distributor's `RootUpdated(epoch, root, minted)` events, `minted` being the increment, in any order. */
  roots: readonly { epoch: number; minted: bigint }[];
}

/**
 * The emission chart's series: per epoch, the schedule (and its class split, rounded down as the oracles do), what the
 * verdict file allocated, and the distributor's cumulative minted total. An epoch without its own root (skipped) shows
 * the total minted by the last root before it; epochs after the last root show null (nothing minted for them yet).
 */
export function emissionSeries(inputs: EmissionInputs): EmissionPoint[] {
  const n = inputs.cumulative.length - 1;
  const roots = [...inputs.roots].sort((a, b) => a.epoch - b.epoch);
  const lastRoot = roots.length === 0 ? -1 : roots[roots.length - 1].epoch;
  const points: EmissionPoint[] = [];
  let minted = 0n;
  let r = 0;
  for (let e = 0; e < n; e++) {
    const scheduled = inputs.cumulative[e + 1] - inputs.cumulative[e];
    const split = inputs.splits[e] ?? [];
    while (r < roots.length && roots[r].epoch <= e) minted += roots[r++].minted;
    points.push({
      epoch: e,
      scheduled: scheduled.toString(),
      scheduledByClass: split.map((bps) => ((scheduled * BigInt(bps)) / BPS).toString()),
      allocatedByClass: inputs.allocated[e]?.map(String) ?? null,
      mintedCumulative: e <= lastRoot ? minted.toString() : null,
      scheduledCumulative: (inputs.cumulative[e + 1] - inputs.cumulative[0]).toString(),
    });
  }
  return points;
}

/** A verdict file's `classes[]` as an array of allocated amounts indexed by ResourceClass. */
export function allocatedByClass(classes: readonly { resourceClass: number; allocated: string }[]): bigint[] {
  const out = Object.values(ResourceClass).map(() => 0n);
  for (const c of classes) if (c.resourceClass >= 0 && c.resourceClass < out.length) out[c.resourceClass] = BigInt(c.allocated);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Oracle signatures

/** The parts of an oracle's `GET /v1/verdicts/:epoch` answer (oracles/node/verdict-routes.ts) the explorer reads. */
export interface OracleVerdictView {
  submitted: string | null;
  tally: { digest: string; signers: string[] }[];
  dissents: { signer: string; digest: string }[];
}

/**
 * Who signed the digest submitted on-chain and who signed something else, by one oracle's account. Dissenters are the
 * members with a signature for another digest and none for the submitted one.
 */
export function signersOf(view: OracleVerdictView, digest: string): { signedBy: string[]; dissenters: string[] } {
  const d = digest.toLowerCase();
  const signedBy = view.tally.find((t) => t.digest.toLowerCase() === d)?.signers ?? [];
  const agreed = new Set(signedBy.map((s) => s.toLowerCase()));
  const others = new Map<string, string>();
  for (const t of view.tally) if (t.digest.toLowerCase() !== d) t.signers.forEach((s) => others.set(s.toLowerCase(), s));
  for (const x of view.dissents) if (x.digest.toLowerCase() !== d) others.set(x.signer.toLowerCase(), x.signer);
  const dissenters = [...others.entries()].filter(([k]) => !agreed.has(k)).map(([, s]) => s);
  return { signedBy: [...signedBy], dissenters: dissenters.sort() };
}

// ---------------------------------------------------------------------------------------------------------------------
// Stake

/** Delegators of each operator: distinct delegators (lower-cased keys) whose current shares are positive. */
export function delegatorCounts(positions: readonly { operator: string; delegator: string; shares: bigint }[]): Map<string, number> {
  const byOperator = new Map<string, Set<string>>();
  for (const p of positions) {
    if (p.shares <= 0n) continue;
    const op = p.operator.toLowerCase();
    byOperator.set(op, (byOperator.get(op) ?? new Set()).add(p.delegator.toLowerCase()));
  }
  return new Map([...byOperator.entries()].map(([op, set]) => [op, set.size]));
}

/** Sums amounts by key (lower-cased) and counts the entries. */
export function totalsBy<T>(items: readonly T[], key: (t: T) => string, amount: (t: T) => bigint): Map<string, { total: bigint; count: number }> {
  const out = new Map<string, { total: bigint; count: number }>();
  for (const item of items) {
    const k = key(item).toLowerCase();
    const cur = out.get(k) ?? { total: 0n, count: 0 };
    out.set(k, { total: cur.total + amount(item), count: cur.count + 1 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Governance

/** A contract a proposal may call: its deployment name and its ABI. */
export interface KnownTarget {
  name: string;
  iface: Interface;
}

const shortHex = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);

/** One decoded argument, readable: numbers in decimal, addresses in full, long bytes shortened, arrays bracketed. */
export function formatArg(value: unknown): string {
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return value.length <= 66 ? value : shortHex(value);
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  return String(value);
}

/** Per function, how to name its arguments beyond `formatArg` (enums by name). */
const NAMED: Record<string, (args: Result) => string[]> = {
  "ProtocolConfig.setParam": (a) => [enumName(Param, a[0]), formatArg(a[1])],
  "ProtocolConfig.setClassParam": (a) => [className(a[0]), enumName(ClassParam, a[1]), formatArg(a[2])],
  "ProtocolConfig.setFaultParam": (a) => [enumName(FaultKind, a[0]), enumName(FaultParam, a[1]), formatArg(a[2])],
  "EmissionSchedule.setClassSplit": (a) => [
    (a[0] as readonly bigint[]).map((bps, c) => `${className(c)} ${bps.toString()}`).join(", "),
  ],
  "OracleHub.setConfirmation": (a) => [formatArg(a[0]), enumName(ConfirmationMode, a[1])],
};

/**
 * One call of a proposal, readable: `ProtocolConfig.setParam(JailCooldown, 172800)`, `OracleHub.setConfirmation(0x…,
 * MustAgree)`, other calls of known contracts by function name with their arguments; unknown targets or selectors by
 * address and selector. A call sending ETH ends with ` + <wei> wei`.
 */
export function describeCall(
  target: string,
  calldata: string,
  value: bigint,
  known: ReadonlyMap<string, KnownTarget>,
): string {
  const suffix = value > 0n ? ` + ${value.toString()} wei` : "";
  const contract = known.get(target.toLowerCase());
  const selector = calldata.slice(0, 10);
  if (contract === undefined) return `${target}: ${calldata.length >= 10 ? selector : "(no calldata)"}${suffix}`;
  let parsed: ReturnType<Interface["parseTransaction"]> = null;
  try {
    parsed = contract.iface.parseTransaction({ data: calldata, value });
  } catch {
    parsed = null;
  }
  if (parsed === null) return `${contract.name}: unknown function ${selector}${suffix}`;
  const key = `${contract.name}.${parsed.name}`;
  const args = NAMED[key]?.(parsed.args) ?? [...parsed.args].map(formatArg);
  return `${key}(${args.join(", ")})${suffix}`;
}
