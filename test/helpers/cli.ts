/**
 * Running the operator CLI in end-to-end tests, as a subprocess (`runCli`, `exec`: what a user runs) or in-process
 * (`runCliInProcess`: the same commands without a process start-up each), and reading its outcome.
 */
import { execFile } from "node:child_process";
import path from "node:path";

import { expect } from "chai";

import { REPO_ROOT } from "../../scripts/lib/localnet/network";

/** The CLI's entry point. */
export const CLI = path.join(REPO_ROOT, "scripts", "cli", "main.ts");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (async: the test's own HTTP servers must keep answering meanwhile). */
export function exec(command: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, [...args], { cwd: REPO_ROOT, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `meshwork <args>` as a user would (`node -r ts-node/register/transpile-only scripts/cli/main.ts`). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<Run> {
  return exec("node", ["-r", "ts-node/register/transpile-only", CLI, ...args], env, timeoutMs);
}

/**
 * Environment variables the CLI reads (scripts/cli/context.ts, market.ts): an in-process run sets each from `env`, or
 * unsets it when `env` does not give it, so a run sees exactly what a subprocess given `env` would.
 */
export const CLI_ENV = ["MESHWORK_KEY", "MESHWORK_RPC_URL", "DEPLOYMENTS_DIR"] as const;

/** In-process runs share process.env, process.stdout/stderr and the cwd, so they take turns (see `runCliInProcess`). */
let inProcessQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `meshwork <args>` in this process through `run(argv)` of scripts/cli/main.ts, capturing what it writes to
 * stdout and stderr; resolves to the same `Run` as `runCli` (code is run()'s exit code). Much faster than a subprocess
 * (no Node/ts-node start-up), so the chain and HTTP servers the test runs keep answering meanwhile (the run is async).
 *
 * For the run, the variables of `CLI_ENV` are set from `env` (unset when absent), any other variable in `env` is
 * set too (PATH, say, which `functions simulate` looks Deno up in), and the cwd is the repository root, as `exec`
 * does for a subprocess; all of it, and process.stdout/stderr.write, is restored afterwards, even if run() throws.
 * Because that state is global, concurrent calls are queued and run one after the other (Promise.all still works).
 *
 * What only a real process shows (the exit status, output written outside process.stdout/stderr.write, start-up)
 * is left to `runCli`.
 */
export function runCliInProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const result = inProcessQueue.then(() => runInProcessNow(args, env));
  inProcessQueue = result.catch(() => undefined);
  return result;
}

async function runInProcessNow(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  // Loaded on first use: the CLI pulls in every command's modules, which subprocess-only callers need not pay for.
  const { run } = await import("../../scripts/cli/main");
  const out: string[] = [];
  const err: string[] = [];
  const capture =
    (sink: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      sink.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      callback?.();
      return true;
    };

  const names = new Set<string>([...CLI_ENV, ...Object.keys(env)]);
  const savedEnv = new Map<string, string | undefined>([...names].map((name) => [name, process.env[name]]));
  const savedCwd = process.cwd();
  const { write: stdoutWrite } = process.stdout;
  const { write: stderrWrite } = process.stderr;
  let code: number;
  try {
    for (const name of names) setEnv(name, env[name]);
    if (savedCwd !== REPO_ROOT) process.chdir(REPO_ROOT);
    process.stdout.write = capture(out) as typeof process.stdout.write;
    process.stderr.write = capture(err) as typeof process.stderr.write;
    code = await run([...args]);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    if (process.cwd() !== savedCwd) process.chdir(savedCwd);
    for (const [name, value] of savedEnv) setEnv(name, value);
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

function setEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** The single line a failed command prints, checked to be exactly one "meshwork: " line with exit 1. */
export function failureLine(run: Run): string {
  expect(run.code, `expected exit 1; stdout: ${run.stdout}`).to.equal(1);
  const lines = run.stderr.split("\n").filter((l) => l !== "");
  expect(lines, run.stderr).to.have.length(1);
  expect(lines[0]).to.match(/^meshwork: /);
  return lines[0];
}

/** The output of a command that succeeded. */
export function succeeded(run: Run): string {
  expect(run.code, `stderr: ${run.stderr}\nstdout: ${run.stdout}`).to.equal(0);
  return run.stdout;
}
