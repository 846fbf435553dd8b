/**
 * `npm run bench [-- --quick] [--only a,b] [--out file]`: runs every benchmark in its own process (so each one's
 * peak memory is its own) and writes their figures, with the machine and the date, to BENCHMARKS.md.
 *
 * --quick   small sizes and few runs (under 2 minutes), written to run/bench/BENCHMARKS.quick.md unless --out is
 *           given: CI runs it to keep the benchmark code working; its figures are not the ones to quote.
 * --only    a comma-separated subset of: gas, signatures, ingest, aggregate, merkle.
 * --out     where to write the report.
 * Exits 1 when a benchmark fails (the report still lists the others); a missed target is reported, not a failure.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, freemem, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Command, InvalidArgumentError } from "commander";

import { fmt, targetMet, type BenchMode, type BenchResult, type BenchSection } from "./lib/report";

const ROOT = resolve(__dirname, "..", "..");
const TS_NODE = ["-r", "ts-node/register/transpile-only"];

interface Bench {
  name: string;
  /** The command, run from the project root. */
  command: string[];
}

const BENCHES: Bench[] = [
  { name: "gas", command: [process.execPath, require.resolve("hardhat/internal/cli/cli"), "run", "scripts/bench/gas.ts"] },
  { name: "signatures", command: [process.execPath, ...TS_NODE, "scripts/bench/signatures.ts"] },
  { name: "ingest", command: [process.execPath, ...TS_NODE, "scripts/bench/ingest.ts"] },
  { name: "aggregate", command: [process.execPath, ...TS_NODE, "scripts/bench/aggregate.ts"] },
  { name: "merkle", command: [process.execPath, ...TS_NODE, "scripts/bench/merkle.ts"] },
];

interface Outcome {
  bench: Bench;
  seconds: number;
  result?: BenchResult;
  error?: string;
}

function run(bench: Bench, mode: BenchMode, resultPath: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(bench.command[0], bench.command.slice(1), {
      cwd: ROOT,
      env: { ...process.env, BENCH_MODE: mode, BENCH_RESULT: resultPath },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const finish = (error?: string) => {
      const seconds = (Date.now() - started) / 1000;
      if (error !== undefined) return done({ bench, seconds, error });
      try {
        done({ bench, seconds, result: JSON.parse(readFileSync(resultPath, "utf8")) as BenchResult });
      } catch (cause) {
        done({ bench, seconds, error: `no result written (${cause instanceof Error ? cause.message : String(cause)})` });
      }
    };
    child.on("error", (err) => finish(err.message));
    child.on("exit", (code, signal) => finish(code === 0 ? undefined : `exited with ${signal ?? `code ${code}`}`));
  });
}

const NUMERIC = /^(<=|>=)?\s*[-\d.,]+\b|^$/;

function table(columns: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;
  // Right-align the columns of figures.
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => NUMERIC.test(String(r[i] ?? ""))));
  return [line(columns), line(numeric.map((n) => (n ? "---:" : "---"))), ...rows.map(line)].join("\n");
}

function section(s: BenchSection): string {
  const parts = [`### ${s.heading}`];
  for (const note of s.notes ?? []) parts.push(note);
  if (s.table) parts.push(table(s.table.columns, s.table.rows));
  return parts.join("\n\n");
}

function render(outcomes: Outcome[], mode: BenchMode, totalSeconds: number): string {
  const cpu = cpus();
  const machine =
    `${cpu.length} x ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM ` +
    `(${fmt(freemem() / 2 ** 30, 1)} GiB free at the end), ${process.platform} ${process.arch}, Node ${process.version}`;
  const lines = [
    "# Meshwork benchmarks",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}.`,
    `Mode: ${mode}${mode === "quick" ? " (small sizes: these figures are not the ones to quote)" : ""}; ` +
      `all benchmarks took ${fmt(totalSeconds)} s. Reproduce with \`npm run bench\` (\`-- --quick\` for the CI check).`,
    "",
    "## Targets",
    "",
  ];
  const targets = outcomes.flatMap((o) => (o.result?.targets ?? []).map((t) => ({ bench: o.bench.name, ...t })));
  lines.push(
    table(
      ["benchmark", "figure", "measured", "target", ""],
      targets.map((t) => [
        t.bench,
        t.label,
        `${fmt(t.value, t.value < 100 ? 2 : 0)} ${t.unit}`,
        `${t.higherIsBetter ? ">=" : "<="} ${fmt(t.target, t.target < 100 ? 2 : 0)} ${t.unit}`,
        targetMet(t) ? "met" : "**missed**",
      ]),
    ),
  );
  for (const o of outcomes) {
    lines.push("", `## ${o.result?.title ?? o.bench.name}`, "", `(${fmt(o.seconds)} s)`, "");
    if (o.error !== undefined) lines.push(`**Failed:** ${o.error}`);
    else lines.push(o.result!.sections.map(section).join("\n\n"));
  }
  return lines.join("\n") + "\n";
}

async function main(): Promise<void> {
  const names = BENCHES.map((b) => b.name);
  const program = new Command("bench")
    .option("--quick", "small sizes and few runs (CI)")
    .option(
      "--only <names>",
      `comma-separated subset of ${names.join(", ")}`,
      (value: string) => {
        const picked = value.split(",").map((s) => s.trim());
        const unknown = picked.filter((p) => !names.includes(p));
        if (unknown.length > 0) throw new InvalidArgumentError(`unknown benchmark ${unknown.join(", ")}`);
        return picked;
      },
    )
    .option("--out <file>", "where to write the report")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith("error:") ? `bench: ${s}` : s) });
  program.parse(process.argv);
  const opts = program.opts<{ quick?: boolean; only?: string[]; out?: string }>();
  const mode: BenchMode = opts.quick ? "quick" : "full";
  const out = resolve(opts.out ?? join(ROOT, mode === "quick" ? "run/bench/BENCHMARKS.quick.md" : "BENCHMARKS.md"));
  const selected = BENCHES.filter((b) => opts.only === undefined || opts.only.includes(b.name));

  const dir = mkdtempSync(join(tmpdir(), "meshwork-bench-"));
  const started = Date.now();
  const outcomes: Outcome[] = [];
  try {
    for (const bench of selected) {
      console.log(`bench: ${bench.name} (${mode})`);
      const outcome = await run(bench, mode, join(dir, `${bench.name}.json`));
      console.log(`bench: ${bench.name} ${outcome.error === undefined ? "done" : `FAILED: ${outcome.error}`} in ${fmt(outcome.seconds)} s`);
      outcomes.push(outcome);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const totalSeconds = (Date.now() - started) / 1000;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, render(outcomes, mode, totalSeconds));
  const failed = outcomes.filter((o) => o.error !== undefined);
  const missed = outcomes.flatMap((o) => o.result?.targets ?? []).filter((t) => !targetMet(t));
  console.log(`bench: wrote ${out} in ${fmt(totalSeconds)} s; ${missed.length} target(s) missed`);
  if (failed.length > 0) {
    console.error(`bench: ${failed.map((o) => o.bench.name).join(", ")} failed`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code;
  if (code === "commander.helpDisplayed" || code === "commander.version") return;
  if (typeof code === "string" && code.startsWith("commander.")) {
    process.exitCode = 1;
    return;
  }
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
