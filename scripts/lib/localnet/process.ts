/**
 * Child processes of end-to-end tests (the Hardhat node, oracle nodes): spawned in their own process group with
 * their output drained into tail buffers (and optionally a log file), ready once a probe answers, stopped by signal to
 * the whole group. A process left running when the test process exits is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";

const TAIL_CHARS = 16_384;

export interface ServiceProcess {
  process: ChildProcess;
  /** Sends `signal` to the process group and resolves once the process has exited. Idempotent per process. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** The last output (stdout and stderr, 16 KiB each), for error messages. */
  tail(): { stdout: string; stderr: string };
  /** Whether the process has exited. */
  exited(): boolean;
}

export interface StartProcessOptions {
  name: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Resolves true once the service answers. */
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  /** Append stdout and stderr to this file too. */
  logFile?: string;
}

export async function startProcess(options: StartProcessOptions): Promise<ServiceProcess> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", ...options.env },
  });
  const log = options.logFile === undefined ? undefined : createWriteStream(options.logFile, { flags: "a" });
  const out = { stdout: "", stderr: "" };
  const keep = (key: "stdout" | "stderr") => (chunk: Buffer) => {
    out[key] = (out[key] + chunk.toString("utf8")).slice(-TAIL_CHARS);
    log?.write(chunk);
  };
  child.stdout?.on("data", keep("stdout"));
  child.stderr?.on("data", keep("stderr"));
  let hasExited = false;
  const closed = new Promise<void>((resolve) =>
    child.once("close", () => {
      hasExited = true;
      log?.end();
      resolve();
    }),
  );
  let failure: string | undefined;
  child.once("error", (e) => (failure = `could not spawn ${options.command}: ${e.message}`));

  const killOnExit = (): void => killGroup(child, "SIGKILL");
  process.once("exit", killOnExit);
  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener("exit", killOnExit);
      if (!hasExited) killGroup(child, signal);
      const hard = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
      await closed;
      clearTimeout(hard);
    })();
    return stopping;
  };
  const service: ServiceProcess = { process: child, stop, tail: () => ({ ...out }), exited: () => hasExited };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (failure === undefined && hasExited) {
      failure = `${options.name} exited early (code ${child.exitCode}, signal ${child.signalCode})`;
    }
    if (failure !== undefined) break;
    if (await options.ready()) return service;
    if (Date.now() > deadline) {
      failure = `${options.name} was not ready within ${timeoutMs} ms`;
      break;
    }
    await sleep(200);
  }
  await stop();
  throw new Error(
    `${failure}\n--- stderr tail ---\n${out.stderr.slice(-4_000)}\n--- stdout tail ---\n${out.stdout.slice(-2_000)}`,
  );
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined/false; throws `what` on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 60_000, everyMs = 250 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`);
    }
    await sleep(everyMs);
  }
}
