/**
 * The explorer's HTTP face (node:http, no framework), with no state beyond its config:
 * - GET  /config.json              where the page reads: `{ rpcUrl: "/rpc", deployment, oracles: ["/oracle/0", ...] }`
 * - POST /rpc                      the JSON-RPC body passed through to the chain (single or batch), at most 1 MiB
 * - GET  /oracle/<i>/v1/verdicts/… passed through to oracle i (only the published verdict routes; query dropped)
 * - GET  /…                        the built page (index.html, assets)
 * A bad request gets a 4xx with `{ error, message }`; an upstream that does not answer, a 502 the same way.
 */
import { readFile, stat } from "node:fs/promises";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import path from "node:path";

import type { DeploymentFile } from "../../sdk/deployment";
import type { ExplorerConfig } from "../../explorer/src/config";

/** Largest JSON-RPC request body relayed (bytes). */
export const MAX_RPC_BODY_BYTES = 1 << 20;
/** How long an upstream (chain or oracle) may take to answer. */
export const UPSTREAM_TIMEOUT_MS = 30_000;

/** A request the explorer refuses or cannot serve; `code` is the JSON `error`. */
export class ExplorerHttpError extends Error {
  override name = "ExplorerHttpError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
}

export interface ExplorerAppOptions {
  /** The chain's JSON-RPC URL. */
  rpcUrl: string;
  deployment: DeploymentFile;
  /** Oracle HTTP base URLs. */
  oracles: readonly string[];
  /** Folder of the built page. */
  staticDir: string;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
  ".wasm": "application/wasm",
};

/** The oracle routes the explorer relays: the published verdict documents, nothing that writes. */
const ORACLE_PATH = /^\/v1\/verdicts\/[0-9]{1,20}(\/(file|leaves))?$/;

/** The page's config, as served at /config.json. */
export function explorerConfig(options: Pick<ExplorerAppOptions, "deployment" | "oracles">): ExplorerConfig {
  return { rpcUrl: "/rpc", deployment: options.deployment, oracles: options.oracles.map((_, i) => `/oracle/${i}`) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  res.end(text);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > limit) {
      reject(new ExplorerHttpError(413, "body_too_large", `request body over ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ExplorerHttpError(413, "body_too_large", `request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Relays `init` to `url` and copies the answer (status, content type, body) back. */
async function relay(res: ServerResponse, url: string, init: RequestInit, what: string): Promise<void> {
  let upstream: Response;
  let body: Buffer;
  try {
    upstream = await fetch(url, { ...init, signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS) });
    body = Buffer.from(await upstream.arrayBuffer());
  } catch (cause) {
    throw new ExplorerHttpError(502, "upstream_unreachable", `${what} did not answer`, { cause });
  }
  res.writeHead(upstream.status, {
    "content-type": upstream.headers.get("content-type") ?? "application/json",
    "cache-control": "no-store",
  });
  res.end(body);
}

function requireMethod(req: IncomingMessage, allowed: readonly string[]): void {
  if (!allowed.includes(req.method ?? "")) {
    throw new ExplorerHttpError(405, "method_not_allowed", `${req.method} not allowed here; use ${allowed.join(" or ")}`);
  }
}

async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, pathname: string): Promise<void> {
  requireMethod(req, ["GET", "HEAD"]);
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    throw new ExplorerHttpError(400, "bad_path", "malformed path");
  }
  if (relative.endsWith("/")) relative += "index.html";
  const file = path.resolve(root, "." + relative);
  if (!file.startsWith(root + path.sep)) throw new ExplorerHttpError(404, "not_found", `no ${pathname} here`);
  const info = await stat(file).catch(() => null);
  if (info === null || !info.isFile()) throw new ExplorerHttpError(404, "not_found", `no ${pathname} here`);
  const body = await readFile(file);
  const hashed = relative.startsWith("/assets/");
  res.writeHead(200, {
    "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
    "content-length": body.length,
    "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}

/** The request handler; `createServer(explorerApp(options))` serves it. */
export function explorerApp(options: ExplorerAppOptions): RequestListener {
  const root = path.resolve(options.staticDir);
  const config = JSON.stringify(explorerConfig(options));
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { pathname } = new URL(req.url ?? "/", "http://explorer.invalid");
    if (pathname === "/config.json") {
      requireMethod(req, ["GET", "HEAD"]);
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : config);
      return;
    }
    if (pathname === "/rpc") {
      requireMethod(req, ["POST"]);
      const body = await readBody(req, MAX_RPC_BODY_BYTES);
      if (body.length === 0) throw new ExplorerHttpError(400, "empty_body", "a JSON-RPC request body is required");
      await relay(res, options.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: new Uint8Array(body) }, "the chain");
      return;
    }
    const oracle = /^\/oracle\/([^/]*)(\/.*)?$/.exec(pathname);
    if (oracle !== null) {
      requireMethod(req, ["GET"]);
      const index = /^(0|[1-9][0-9]{0,3})$/.test(oracle[1]) ? Number(oracle[1]) : -1;
      if (index < 0 || index >= options.oracles.length) {
        throw new ExplorerHttpError(404, "unknown_oracle", `no oracle ${oracle[1]} (there are ${options.oracles.length})`);
      }
      const rest = oracle[2] ?? "/";
      if (!ORACLE_PATH.test(rest)) {
        throw new ExplorerHttpError(403, "path_not_relayed", "only /v1/verdicts/<epoch>[/file|/leaves] is relayed to oracles");
      }
      await relay(res, options.oracles[index].replace(/\/+$/, "") + rest, { method: "GET" }, `oracle ${index}`);
      return;
    }
    await serveStatic(req, res, root, pathname);
  };
  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof ExplorerHttpError) sendJson(res, error.status, { error: error.code, message: error.message });
      else sendJson(res, 500, { error: "internal", message: "unexpected error" });
    });
  };
}
