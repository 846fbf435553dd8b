/**
 * Errors of the CLI. A `CliError` carries the one line the user sees (after "meshwork: "); `describeError` turns
 * anything else thrown (ethers errors, reverts with the protocol's custom errors, deployment file errors, commander
 * usage errors) into such a line.
 */
import { isError } from "ethers";

import { DeploymentFileError } from "../../sdk/deployment";
import { decodeRevert } from "./format";

/** A failure the user can act on; `message` is shown as is, on one line. */
export class CliError extends Error {
  override name = "CliError";

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** One readable line (without the "meshwork: " prefix) for anything thrown by a command. */
export function describeError(error: unknown): string {
  return oneLine(describe(error));
}

function describe(error: unknown): string {
  if (error instanceof CliError || error instanceof DeploymentFileError) return error.message;
  if (isError(error, "CALL_EXCEPTION")) {
    const decoded = decodeRevert(error.data);
    if (decoded !== null) return `transaction reverted: ${decoded}`;
    return `transaction reverted: ${error.reason ?? error.shortMessage}`;
  }
  if (isError(error, "INSUFFICIENT_FUNDS")) return "the sending account has too little ETH to pay for gas";
  if (isError(error, "NONCE_EXPIRED") || isError(error, "REPLACEMENT_UNDERPRICED")) {
    return `transaction rejected: ${error.shortMessage} (another transaction from this account is in flight?)`;
  }
  if (isError(error, "NETWORK_ERROR") || isError(error, "SERVER_ERROR") || isError(error, "TIMEOUT")) {
    return `RPC error: ${error.shortMessage}`;
  }
  if (error instanceof Error) {
    const short = (error as Error & { shortMessage?: unknown }).shortMessage;
    return typeof short === "string" ? short : error.message;
  }
  return String(error);
}

function oneLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, " ").trim();
  return line.length > 400 ? `${line.slice(0, 397)}...` : line;
}
