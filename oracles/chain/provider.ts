/**
 * The oracle's JSON-RPC provider: ethers' `JsonRpcProvider` with a bounded request time (ethers' default is 5 min) and
 * a few quick retries of reads that failed for the transport's sake (timeout, HTTP 5xx, connection refused) or with a
 * server-side JSON-RPC error that carries no revert data (-32000..-32099, -32603, -32005 limit exceeded).
 *
 * An epoch tick makes dozens of reads; retrying each a couple of times keeps one flaky request from failing the whole
 * tick (which then backs off, epoch-driver.ts). Transactions (`eth_sendRawTransaction`, `eth_sendTransaction`) are
 * never resent here: an answer lost after the node accepted one must not become a second broadcast, and the epoch
 * driver finds the transaction by hash instead. Reverts (errors with revert data, or "revert" in the message) are
 * answers, not failures, and are not retried.
 */
import {
  FetchRequest,
  isHexString,
  JsonRpcProvider,
  type JsonRpcApiProviderOptions,
  type JsonRpcPayload,
  type JsonRpcResult,
} from "ethers";

export interface ChainProviderOptions extends JsonRpcApiProviderOptions {
  /** Milliseconds before one HTTP request is abandoned (default 10 000). */
  timeoutMs?: number;
  /** Extra attempts of a failed read (default 2). */
  retries?: number;
  /** Delay before the first retry, doubled for the next (default 100 ms; jittered). */
  retryDelayMs?: number;
}

const WRITES = new Set(["eth_sendRawTransaction", "eth_sendTransaction"]);

/** A JSON-RPC error answer worth retrying: a server-side failure without revert data. */
export function isTransientRpcError(error: { code?: unknown; message?: unknown; data?: unknown }): boolean {
  const code = typeof error.code === "number" ? error.code : NaN;
  const serverSide = (code <= -32000 && code >= -32099) || code === -32603 || code === 429;
  if (!serverSide) return false;
  if (typeof error.message === "string" && /revert/i.test(error.message)) return false;
  const data = error.data as { data?: unknown } | string | undefined;
  const revertData = typeof data === "string" ? data : data?.data;
  return !(isHexString(revertData) && (revertData as string).length > 2);
}

export class ChainProvider extends JsonRpcProvider {
  private readonly retries: number;
  private readonly retryDelayMs: number;
  /** Reads retried so far (for tests and metrics). */
  retried = 0;

  constructor(url: string, options: ChainProviderOptions = {}) {
    const { timeoutMs = 10_000, retries = 2, retryDelayMs = 100, ...rest } = options;
    let connection: string | FetchRequest = url;
    if (/^https?:/i.test(url)) {
      connection = new FetchRequest(url);
      connection.timeout = timeoutMs;
    }
    super(connection, undefined, rest);
    this.retries = retries;
    this.retryDelayMs = retryDelayMs;
  }

  // Typed by ethers as results only; at run time an entry may be an error answer `{ id, error }`.
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const calls = Array.isArray(payload) ? payload : [payload];
    const retriable = calls.every((c) => !WRITES.has(c.method));
    for (let attempt = 0; ; attempt++) {
      const last = !retriable || attempt >= this.retries || this.destroyed;
      try {
        const results = await super._send(payload);
        const transient = results.some((r) => {
          const { error } = r as { error?: { code?: unknown; message?: unknown; data?: unknown } };
          return error !== undefined && isTransientRpcError(error);
        });
        if (last || !transient) return results;
      } catch (error) {
        if (last) throw error;
      }
      this.retried += 1;
      const delay = this.retryDelayMs * 2 ** attempt;
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * (delay / 2)));
    }
  }
}
