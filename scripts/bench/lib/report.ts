/**
 * What one benchmark hands to the runner (scripts/bench/main.ts): a JSON file of sections (tables and notes) and
 * targets, written to the path in `BENCH_RESULT`. Each benchmark runs in its own process, so its peak memory is its
 * own; `BENCH_MODE` is `quick` (CI: the code must run, figures are not asserted) or `full` (the figures quoted in
 * BENCHMARKS.md).
 */
import { writeFileSync } from "node:fs";

export type BenchMode = "quick" | "full";

export interface BenchTable {
  columns: string[];
  rows: (string | number)[][];
}

export interface BenchSection {
  heading: string;
  /** Markdown paragraphs printed before the table: what was measured and how. */
  notes?: string[];
  table?: BenchTable;
}

/** A figure with a target. `higherIsBetter` says which side of the target meets it. */
export interface BenchTarget {
  label: string;
  value: number;
  target: number;
  unit: string;
  higherIsBetter: boolean;
}

export interface BenchResult {
  name: string;
  title: string;
  sections: BenchSection[];
  targets: BenchTarget[];
}

export function benchMode(): BenchMode {
  const mode = process.env.BENCH_MODE ?? "full";
  if (mode !== "quick" && mode !== "full") throw new Error(`BENCH_MODE must be quick or full, got ${mode}`);
  return mode;
}

export function targetMet(t: BenchTarget): boolean {
  return t.higherIsBetter ? t.value >= t.target : t.value <= t.target;
}

/** Writes `result` where the runner expects it (`BENCH_RESULT`), or prints it when run by hand. */
export function writeResult(result: BenchResult): void {
  const path = process.env.BENCH_RESULT;
  const json = JSON.stringify(result, null, 2);
  if (path) writeFileSync(path, json);
  else console.log(json);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Peak resident set size of this process so far, in MiB (`getrusage` maxrss). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** `1234567.8` -> `1,234,568` (no decimals) or with `digits` decimals. */
export function fmt(value: number | bigint, digits = 0): string {
  if (typeof value === "bigint") return value.toLocaleString("en-US");
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
