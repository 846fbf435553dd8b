/**
 * Markup and formatting helpers shared by the views. Views build HTML strings (tested in Node without a DOM) through
 * the `html` tagged template, which escapes every interpolated value unless it is already `Html`.
 */

/** Markup that is already safe (built by `html` or `raw`). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Trusted markup, e.g. a number formatted by this module. Never pass user or chain text. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function piece(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(piece).join("");
  return escapeHtml(String(value));
}

/** Tagged template: literal parts are kept, values are escaped (arrays joined, null/undefined/false dropped). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1];
  return new Html(out);
}

// ---------------------------------------------------------------------------------------------------------------------
// Numbers

const DECIMALS = 18n;
const WEI_PER_MESH = 10n ** DECIMALS;

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function toBigInt(wei: string | bigint): bigint {
  return typeof wei === "bigint" ? wei : BigInt(wei);
}

/**
 * Token wei as MESH with thousands separators and at most `fractionDigits` decimals, rounded toward zero (exact:
 * BigInt only). Trailing zeros of the fraction are dropped: "1,234.5", "0.01", "0".
 */
export function formatMesh(wei: string | bigint, fractionDigits = 2): string {
  const value = toBigInt(wei);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const whole = abs / WEI_PER_MESH;
  let fraction = (abs % WEI_PER_MESH).toString().padStart(Number(DECIMALS), "0").slice(0, fractionDigits);
  fraction = fraction.replace(/0+$/, "");
  const sign = negative && (whole > 0n || fraction !== "") ? "-" : "";
  return `${sign}${groupThousands(whole.toString())}${fraction ? `.${fraction}` : ""}`;
}

/** Every decimal of a wei amount, in MESH: "1234.000000000000000001". */
export function exactMesh(wei: string | bigint): string {
  return `${formatMesh(wei, Number(DECIMALS))} MESH`;
}

/** `<span title="exact">1,234.5 MESH</span>`-style amount. */
export function mesh(wei: string | bigint, fractionDigits = 2, unit = true): Html {
  return html`<span class="amount" title="${exactMesh(wei)}">${formatMesh(wei, fractionDigits)}${unit ? " MESH" : ""}</span>`;
}

/** Wei to a float number of MESH, for charts only (never for the totals shown as text). */
export function meshFloat(wei: string | bigint): number {
  const value = toBigInt(wei);
  return Number(value / 10n ** 12n) / 1e6;
}

/** Compact axis label: 950, 12.5k, 3.2M, 1B. */
export function compact(value: number): string {
  const abs = Math.abs(value);
  const fmt = (v: number, suffix: string): string => `${Number(v.toPrecision(3))}${suffix}`;
  if (abs >= 1e9) return fmt(value / 1e9, "B");
  if (abs >= 1e6) return fmt(value / 1e6, "M");
  if (abs >= 1e3) return fmt(value / 1e3, "k");
  return `${Number(value.toPrecision(3))}`;
}

export function compareWei(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function sumWei(values: readonly string[]): bigint {
  let total = 0n;
  for (const v of values) total += BigInt(v);
  return total;
}

export function percentBps(bps: number): string {
  return `${(bps / 100).toFixed(bps % 100 === 0 ? 0 : 2)} %`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Addresses, hashes, times

/** 0x1234…abcd (the full value in a title where it is shown). */
export function shortHex(value: string, head = 6, tail = 4): string {
  return value.length <= head + tail + 1 ? value : `${value.slice(0, head)}…${value.slice(-tail)}`;
}

export function addr(address: string): Html {
  return html`<span class="addr" title="${address}">${shortHex(address)}</span>`;
}

export function operatorLink(address: string): Html {
  return html`<a class="addr" href="#/operator/${address}" title="${address}">${shortHex(address)}</a>`;
}

export function deviceLink(address: string): Html {
  return html`<a class="addr" href="#/device/${address}" title="${address}">${shortHex(address)}</a>`;
}

/** A hash shortened, or "—". */
export function hash(value: string | null): Html {
  return value === null ? html`<span class="muted">—</span>` : html`<code class="hash" title="${value}">${shortHex(value, 10, 6)}</code>`;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** Unix seconds as local "YYYY-MM-DD HH:MM". */
export function formatTime(unix: number | null, seconds = false): string {
  if (unix === null) return "—";
  const d = new Date(unix * 1000);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${date} ${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
}

/** A duration in seconds: "45 s", "12 min", "3 h 20 min", "2 d 4 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) {
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ""}`;
  }
  const h = Math.floor((s % 86_400) / 3600);
  return `${Math.floor(s / 86_400)} d${h ? ` ${h} h` : ""}`;
}

/** "in 3 h" / "3 h ago" relative to `now` (the snapshot's block time). */
export function relative(unix: number, now: number): string {
  return unix >= now ? `in ${formatDuration(unix - now)}` : `${formatDuration(now - unix)} ago`;
}

/** A coloured badge; `kind` becomes a CSS class (lower-case state/status names). */
export function badge(label: string, kind = label): Html {
  return html`<span class="badge badge-${kind.toLowerCase().replace(/[^a-z0-9]+/g, "-")}">${label}</span>`;
}
