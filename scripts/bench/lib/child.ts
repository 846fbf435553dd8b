/**
 * One measurement per fresh process, so that its peak RSS (`getrusage` maxrss) is its own: a benchmark script calls
 * `measureInChild(__filename, args)`, which re-runs the same script with `--child ...args`; the script sees
 * `childArgs()` non-null, measures once and calls `reportFromChild(result)`.
 */
import { spawnSync } from "node:child_process";

const CHILD_FLAG = "--child";
const RESULT_PREFIX = "BENCH_CHILD_RESULT ";

/** The arguments after `--child` when this process is a measuring child, else null. */
export function childArgs(): string[] | null {
  const at = process.argv.indexOf(CHILD_FLAG);
  return at === -1 ? null : process.argv.slice(at + 1);
}

/** Hands the child's measurement to the parent (one line on stdout). */
export function reportFromChild(result: unknown): void {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/**
 * Runs `script --child ...args` in a new Node process (same `-r ts-node/...` flags, same env) and returns what it
 * reported. `maxOldSpaceMiB`, when given, sets V8's heap limit for the child (otherwise Node's default, which also
 * decides how lazily V8 collects garbage and so the peak RSS).
 *
 * @throws Error when the child fails or reports nothing.
 */
export function measureInChild<T>(script: string, args: readonly string[], maxOldSpaceMiB?: number): T {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, ...(maxOldSpaceMiB === undefined ? [] : [`--max-old-space-size=${maxOldSpaceMiB}`]), script, CHILD_FLAG, ...args],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, stdio: ["ignore", "pipe", "inherit"] },
  );
  if (child.status !== 0) throw new Error(`${script} ${args.join(" ")}: child exited with ${child.status ?? child.signal}`);
  const line = child.stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
  if (line === undefined) throw new Error(`${script} ${args.join(" ")}: child reported nothing`);
  return JSON.parse(line.slice(RESULT_PREFIX.length)) as T;
}

/** Resident set size now, in MiB. */
export function rssMiB(): number {
  return process.memoryUsage.rss() / (1024 * 1024);
}
