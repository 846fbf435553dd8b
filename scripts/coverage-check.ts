/**
 * `npm run coverage` gate: reads the lcov report solidity-coverage wrote (coverage/lcov.info) and fails unless the
 * whole of `contracts/` (test-only contracts under contracts/test/ are skipped by .solcover.js) reaches the issue's
 * floor: 95 % of lines and 90 % of branches. Prints one line per file below 100 % and the totals.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const MIN_LINES = 95;
const MIN_BRANCHES = 90;

interface FileCoverage {
  file: string;
  lines: [hit: number, found: number];
  branches: [hit: number, found: number];
}

/** The per-file line and branch counts of an lcov tracefile. */
function parseLcov(text: string): FileCoverage[] {
  const files: FileCoverage[] = [];
  let current: FileCoverage | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const [key, value = ""] = line.split(":", 2);
    if (key === "SF") current = { file: value, lines: [0, 0], branches: [0, 0] };
    else if (current === undefined) continue;
    else if (key === "LH") current.lines[0] = Number(value);
    else if (key === "LF") current.lines[1] = Number(value);
    else if (key === "BRH") current.branches[0] = Number(value);
    else if (key === "BRF") current.branches[1] = Number(value);
    else if (line === "end_of_record") {
      files.push(current);
      current = undefined;
    }
  }
  return files;
}

const percent = ([hit, found]: [number, number]): number => (found === 0 ? 100 : (100 * hit) / found);

function main(): void {
  const report = path.join(__dirname, "..", "coverage", "lcov.info");
  let text: string;
  try {
    text = readFileSync(report, "utf8");
  } catch {
    console.error(`coverage: ${report} not found (run solidity-coverage first)`);
    process.exit(1);
  }
  const files = parseLcov(text).filter((f) => f.lines[1] > 0);
  const total: FileCoverage = { file: "contracts/", lines: [0, 0], branches: [0, 0] };
  for (const f of files) {
    total.lines[0] += f.lines[0];
    total.lines[1] += f.lines[1];
    total.branches[0] += f.branches[0];
    total.branches[1] += f.branches[1];
    if (percent(f.lines) < 100 || percent(f.branches) < 100) {
      const name = path.relative(path.join(__dirname, ".."), f.file);
      console.log(`  ${name.padEnd(48)} lines ${percent(f.lines).toFixed(1)} %  branches ${percent(f.branches).toFixed(1)} %`);
    }
  }
  const lines = percent(total.lines);
  const branches = percent(total.branches);
  console.log(`coverage of contracts/: lines ${lines.toFixed(2)} % (floor ${MIN_LINES}), branches ${branches.toFixed(2)} % (floor ${MIN_BRANCHES})`);
  if (lines < MIN_LINES || branches < MIN_BRANCHES) {
    console.error("coverage: below the floor");
    process.exit(1);
  }
}

main();
