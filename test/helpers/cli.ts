/** Running the operator CLI (or any command) as a subprocess in end-to-end tests, and reading its outcome. */
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
