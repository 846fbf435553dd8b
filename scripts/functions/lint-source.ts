/**
 * `deno lint` of the Chainlink Functions source (oracles/functions/verdict-source.js), part of `npm run lint`.
 *
 * The source is the body of an async function (top-level `return`, globals `args` and `Functions`), which `deno lint`
 * cannot parse as a file: it is linted wrapped in a function taking those two globals as parameters, and the
 * findings' line numbers are mapped back to the source file. Exits 1 with one line per finding (or parse error).
 *
 * Run: node -r ts-node/register/transpile-only scripts/functions/lint-source.ts
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

import { VERDICT_SOURCE_PATH, readVerdictSource } from "../../oracles/functions/source";

const ROOT = join(__dirname, "..", "..");
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const HEADER = "export default async function source(args, Functions) {\n";
const HEADER_LINES = HEADER.split("\n").length - 1;

interface DenoLintReport {
  diagnostics: { range: { start: { line: number; col: number } }; message: string; code: string }[];
  errors: { message: string }[];
}

function main(): number {
  const where = relative(process.cwd(), VERDICT_SOURCE_PATH);
  const dir = mkdtempSync(join(tmpdir(), "meshwork-lint-"));
  try {
    const wrapped = join(dir, "verdict-source.js");
    writeFileSync(wrapped, `${HEADER}${readVerdictSource()}\n}\n`);
    const run = spawnSync(DENO, ["lint", "--no-config", "--json", wrapped], { encoding: "utf8" });
    if (run.error !== undefined || run.stdout === "") {
      console.error(`lint-source: could not run ${DENO}: ${run.error?.message ?? run.stderr.trim()}`);
      return 1;
    }
    const report = JSON.parse(run.stdout) as DenoLintReport;
    const line = (n: number): number => n - HEADER_LINES;
    const findings = [
      ...report.diagnostics.map((d) => `${where}:${line(d.range.start.line)}:${d.range.start.col + 1}: ${d.message} (${d.code})`),
      ...report.errors.map((e) => {
        const at = /:(\d+):(\d+)\s*$/.exec(e.message);
        return `${where}:${at === null ? "?" : `${line(Number(at[1]))}:${at[2]}`}: ${e.message.split("\n")[0]}`;
      }),
    ];
    for (const f of findings) console.error(f);
    if (findings.length > 0 || run.status !== 0) {
      console.error(`lint-source: ${findings.length} problem(s) in ${where}`);
      return 1;
    }
    console.log(`lint-source: ${where} is clean`);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
