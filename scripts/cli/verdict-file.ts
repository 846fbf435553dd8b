/**
 * Fetching an oracle's verdict file (`GET <oracle>/v1/verdicts/<epoch>/file`): one HTTP request, the JSON checked
 * against the caller's schema (each command reads only the part it needs: `claim` the rewards, `market settle` the
 * leases). Every failure is a CliError naming the oracle or the first malformed field.
 */
import { isAddress, isHexString } from "ethers";
import { z } from "zod";

import { CliError } from "./errors";

/** A 32-byte hex string. */
export const bytes32 = z.string().refine((s) => isHexString(s, 32), { error: "must be bytes32 hex" });
/** A non-negative integer as a decimal string. */
export const decimal = z.string().regex(/^\d+$/, { error: "must be a decimal integer" });
/** An address in any spelling. */
export const address = z.string().refine((s) => isAddress(s), { error: "must be an address" });

/** Fetches the verdict file of `epoch` from the oracle at `oracle` and checks it against `schema`. */
export async function fetchVerdictFile<T>(oracle: string, epoch: bigint, schema: z.ZodType<T>): Promise<T> {
  let url: URL;
  try {
    url = new URL(`v1/verdicts/${epoch}/file`, oracle.endsWith("/") ? oracle : `${oracle}/`);
  } catch {
    throw new CliError(`--oracle ${oracle} is not a URL`);
  }
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    const reason = typeof cause?.code === "string" ? cause.code : error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot reach the oracle at ${oracle} (${reason})`);
  }
  if (!response.ok) throw new CliError(`the oracle answered HTTP ${response.status} for ${url.pathname}`);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new CliError(`the oracle's verdict file for epoch ${epoch} is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`the oracle's verdict file is malformed: ${issue.path.join(".") || "(root)"} ${issue.message}`);
  }
  return parsed.data;
}
