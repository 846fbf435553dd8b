/**
 * The CLI's side of `@chainlink/functions-toolkit` (built on ethers v5): the toolkit is loaded only by the `functions`
 * commands (other commands do not pay for it), a v5 signer is made for the session's RPC, the toolkit's multi-line
 * errors become one-line `CliError`s, and a missing Deno (which `simulateScript` runs the source in) is one clear line.
 */
import type { SimulationResult } from "@chainlink/functions-toolkit";
import type { Signer as SignerV5 } from "ethers-v5";

import { CliError } from "../errors";

type FunctionsLib = typeof import("../../lib/functions");
type Toolkit = typeof import("@chainlink/functions-toolkit");
type EthersV5 = typeof import("ethers-v5");

/** The modules the `functions` commands use, loaded once. */
export interface FunctionsModules {
  lib: FunctionsLib;
  toolkit: Toolkit;
  v5: EthersV5;
}

let loaded: FunctionsModules | undefined;

/** Loads `scripts/lib/functions`, the toolkit (its start-up notice dropped, see `functionsToolkit`) and ethers v5. */
export async function loadFunctionsModules(): Promise<FunctionsModules> {
  if (loaded !== undefined) return loaded;
  const [lib, v5] = await Promise.all([import("../../lib/functions"), import("ethers-v5")]);
  loaded = { lib, toolkit: lib.functionsToolkit(), v5 };
  return loaded;
}

/** Milliseconds between the v5 provider's polls while waiting for a transaction (its default is 4 s). */
const POLLING_MS = 200;

/** A v5 signer on `rpc`: the key's wallet, or a read-only signer (zero address) without a key. */
export async function toolkitSigner(rpc: string, chainId: bigint, privateKey?: string): Promise<SignerV5> {
  const { v5 } = await loadFunctionsModules();
  const provider = new v5.providers.StaticJsonRpcProvider(rpc, Number(chainId));
  provider.pollingInterval = POLLING_MS;
  return privateKey === undefined
    ? new v5.VoidSigner(v5.constants.AddressZero, provider)
    : new v5.Wallet(privateKey, provider);
}

const DENO_MISSING = /Deno must be installed/i;

/** Runs a toolkit call; whatever it throws becomes one `CliError` line starting with `what`. */
export async function toolkitCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toolkitError(what, error);
  }
}

/**
 * One line for a toolkit error: its first line, and from the ethers v5 error it wraps the revert reason or error name
 * when there is one. A missing Deno gets its own message.
 */
export function toolkitError(what: string, error: unknown): CliError {
  if (error instanceof CliError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (DENO_MISSING.test(text)) return denoMissing(error);
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const first = (lines[0] ?? "unknown error").replace(/:$/, "");
  const rest = lines.slice(1).join(" ");
  const reason = /reason="([^"]+)"/.exec(rest)?.[1] ?? /errorName="([^"]+)"/.exec(rest)?.[1];
  const detail = reason ?? (rest === "" ? undefined : rest.slice(0, 160));
  return new CliError(`${what}: ${first}${detail === undefined ? "" : ` (${detail})`}`, { cause: error });
}

function denoMissing(cause: unknown): CliError {
  return new CliError(
    "Deno is not on PATH (simulateScript runs the source in it): run through `npm run cli`, which puts " +
      "node_modules/.bin with the `deno` package's binary on PATH, or install Deno",
    { cause },
  );
}

/** Runs the source once in Deno, as a DON node would (`simulateScript`). */
export async function simulateSource(source: string, args: readonly string[]): Promise<SimulationResult> {
  const { toolkit } = await loadFunctionsModules();
  return toolkitCall("simulateScript", () => toolkit.simulateScript({ source, args: [...args] }));
}
