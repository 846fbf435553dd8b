// Meshwork verdict check for Chainlink Functions: the body of an async function (globals `args`, `Functions`; no
// imports, so Keccak-256 is inlined). args: [epoch, quorum, endpoint1..endpointN], N = 1..5 distinct base URLs.
// Fetches each oracle's own verdict with its Merkle leaves (GET <endpoint>/v1/verdicts/<epoch>/leaves, see
// oracles/node/verdict-routes.ts), checks each document strictly and recomputes its three roots (OpenZeppelin
// StandardMerkleTree, as sdk/trees.ts), and returns abi.encode(uint256 epoch, bytes32 structHash) when `quorum`
// endpoints give the same EIP-712 struct hash of EpochVerdict. Otherwise throws "no quorum: ..." (< 256 bytes).
// A failed request or an invalid document counts against its endpoint only.

const UINT = /^(0|[1-9][0-9]{0,77})$/;
const B32 = /^0x[0-9a-fA-F]{64}$/;
const ADDR = /^0x[0-9a-fA-F]{40}$/;
const is = (re, x) => typeof x === "string" && re.test(x);

if (!Array.isArray(args) || args.length < 3 || args.length > 7) {
  throw Error("args: epoch, quorum and 1 to 5 endpoints expected");
}
const [epochArg, quorumArg, ...raw] = args;
if (!is(/^(0|[1-9][0-9]{0,19})$/, epochArg) || BigInt(epochArg) >> 64n) throw Error("args: epoch must be a uint64");
const epoch = BigInt(epochArg);
const quorum = is(/^[1-9]$/, quorumArg) ? Number(quorumArg) : 0;
if (quorum < 1 || quorum > raw.length) throw Error(`args: quorum must be 1..${raw.length}`);
const endpoints = raw.map((e) => {
  if (!is(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, e)) throw Error("args: endpoint must be an http(s) base URL");
  return e.endsWith("/") ? e.slice(0, -1) : e;
});
if (new Set(endpoints.map((e) => e.toLowerCase())).size !== endpoints.length) throw Error("args: duplicate endpoint");

// ---- Keccak-256 (keccak-f[1600] on 50 int32 words, lane i = x + 5y at words 2i (low) and 2i + 1 (high)) ----
const RC = [
  1, 0, 32898, 0, 32906, -2147483648, -2147450880, -2147483648, 32907, 0, -2147483647, 0, -2147450751, -2147483648,
  32777, -2147483648, 138, 0, 136, 0, -2147450871, 0, -2147483638, 0, -2147450741, 0, 139, -2147483648, 32905,
  -2147483648, 32771, -2147483648, 32770, -2147483648, 128, -2147483648, 32778, 0, -2147483638, -2147483648,
  -2147450751, -2147483648, 32896, -2147483648, -2147483647, 0, -2147450872, -2147483648,
];
/** Rotation of lane i (rho; >= 32 swaps the halves) and its word index after pi: B[y, 2x + 3y] = A[x, y]. */
const RHO = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const PI = RHO.map((_, i) => 2 * (Math.floor(i / 5) + 5 * ((2 * (i % 5) + 3 * Math.floor(i / 5)) % 5)));
const ROT = RHO.map((n) => n & 31), SWAP = RHO.map((n) => n >> 5);
const [C, B, S] = [new Int32Array(10), new Int32Array(50), new Int32Array(50)];

function permute(s) {
  for (let r = 0; r < 48; r += 2) {
    for (let x = 0; x < 10; x++) C[x] = s[x] ^ s[x + 10] ^ s[x + 20] ^ s[x + 30] ^ s[x + 40];
    for (let x = 0; x < 10; x += 2) { // theta: D[x] = C[x - 1] ^ rot(C[x + 1], 1)
      const p = x < 2 ? x + 8 : x - 2, n = x < 8 ? x + 2 : x - 8;
      const lo = C[p] ^ ((C[n] << 1) | (C[n + 1] >>> 31)), hi = C[p + 1] ^ ((C[n + 1] << 1) | (C[n] >>> 31));
      for (let y = x; y < 50; y += 10) {
        s[y] ^= lo;
        s[y + 1] ^= hi;
      }
    }
    for (let i = 0; i < 25; i++) { // rho and pi
      const n = ROT[i], m = 32 - n, lo = s[2 * i + SWAP[i]], hi = s[2 * i + 1 - SWAP[i]];
      B[PI[i]] = n ? (lo << n) | (hi >>> m) : lo;
      B[PI[i] + 1] = n ? (hi << n) | (lo >>> m) : hi;
    }
    for (let y = 0; y < 50; y += 10) { // chi
      for (let x = 0; x < 10; x++) s[y + x] = B[y + x] ^ (~B[y + (x < 8 ? x + 2 : x - 8)] & B[y + (x < 6 ? x + 4 : x - 6)]);
    }
    s[0] ^= RC[r];
    s[1] ^= RC[r + 1];
  }
}

function keccak(msg) {
  const p = new Uint8Array((Math.floor(msg.length / 136) + 1) * 136);
  p.set(msg);
  p[msg.length] ^= 1;
  p[p.length - 1] ^= 0x80;
  S.fill(0);
  for (let o = 0; o < p.length; o += 136) {
    for (let k = 0; k < 34; k++) S[k] ^= p[o + 4 * k] | (p[o + 4 * k + 1] << 8) | (p[o + 4 * k + 2] << 16) | (p[o + 4 * k + 3] << 24);
    permute(S);
  }
  const out = new Uint8Array(32);
  for (let k = 0; k < 32; k++) out[k] = S[k >> 2] >>> (8 * (k & 3));
  return out;
}

// ---- ABI encoding (as hex, no 0x) and standard Merkle trees (OpenZeppelin StandardMerkleTree) ----
const word = (n) => BigInt(n).toString(16).padStart(64, "0");
const nibble = (c) => (c < 58 ? c - 48 : (c | 32) - 87);
const bytes = (hex) => {
  const out = new Uint8Array(hex.length >> 1);
  for (let k = 0; k < out.length; k++) out[k] = (nibble(hex.charCodeAt(2 * k)) << 4) | nibble(hex.charCodeAt(2 * k + 1));
  return out;
};
const hex = (a) => Array.from(a, (x) => x.toString(16).padStart(2, "0")).join("");
const compare = (a, b) => {
  for (let k = 0; k < 32; k++) if (a[k] !== b[k]) return a[k] - b[k];
  return 0;
};
const pair = (a, b) => {
  const out = new Uint8Array(64);
  out.set(a);
  out.set(b, 32);
  return keccak(out);
};

/** Root (hex) of the tree over the leaves' abi encodings (hex); 0x00..00 when there are none. */
function merkleRoot(encoded) {
  const n = encoded.length;
  if (n === 0) return "0x" + word(0);
  const tree = new Array(2 * n - 1);
  encoded.map((e) => keccak(keccak(bytes(e)))).sort(compare).forEach((leaf, k) => (tree[2 * n - 2 - k] = leaf));
  for (let i = n - 2; i >= 0; i--) {
    const [l, r] = [tree[2 * i + 1], tree[2 * i + 2]];
    tree[i] = compare(l, r) <= 0 ? pair(l, r) : pair(r, l);
  }
  return "0x" + hex(tree[0]);
}

const TYPEHASH = hex(keccak(Uint8Array.from(
  "EpochVerdict(uint64 epoch,uint32 devicesCounted,bytes32 rewardsRoot,bytes32 faultsRoot,bytes32 leasesRoot," +
    "uint256 totalWorkUnits,bytes32 dataHash)",
  (ch) => ch.charCodeAt(0),
)));

/** The verdict struct hash (hex, no 0x) of a valid leaves document; throws a short reason otherwise. */
function check(doc) {
  if (doc === null || typeof doc !== "object" || doc.version !== 2) throw Error("not a version 2 document");
  const v = doc.verdict ?? {};
  const uint = (key, bits) => {
    if (!is(UINT, v[key]) || BigInt(v[key]) >> bits) throw Error(`bad ${key}`);
    return word(v[key]);
  };
  const b32 = (key) => {
    if (!is(B32, v[key])) throw Error(`bad ${key}`);
    return v[key].slice(2).toLowerCase();
  };
  if (uint("epoch", 64n) !== word(epoch)) throw Error(`epoch ${v.epoch}`);
  const fields = [
    uint("devicesCounted", 32n), b32("rewardsRoot"), b32("faultsRoot"), b32("leasesRoot"), uint("totalWorkUnits", 256n),
    b32("dataHash"),
  ];
  const { rewards, faults, leases } = doc;
  if (new Set([rewards, faults, leases].map((x) => x === null)).size > 1) throw Error("lists: some null");
  if (rewards !== null) {
    if (!Array.isArray(rewards) || !Array.isArray(faults) || !Array.isArray(leases)) throw Error("lists not arrays");
    let last = -1n;
    const rewardLeaves = rewards.map((e, i) => {
      const ok = Array.isArray(e) && e.length === 2 && is(ADDR, e[0]) && is(UINT, e[1]) && BigInt(e[1]) > 0n &&
        !(BigInt(e[1]) >> 256n);
      if (!ok || BigInt(e[0]) <= last) throw Error(`bad rewards[${i}]`);
      last = BigInt(e[0]);
      return word(e[0]) + word(e[1]);
    });
    const faultLeaves = faults.map((e, i) => {
      if (!Array.isArray(e) || e.length !== 3 || !is(ADDR, e[0]) || ![0, 1, 2, 3, 4].includes(e[1]) || !is(B32, e[2])) {
        throw Error(`bad faults[${i}]`);
      }
      return word(e[0]) + word(e[1]) + e[2].slice(2);
    });
    last = -1n;
    const leaseLeaves = leases.map((e, i) => { // [leaseId uint256, delivered uint64, breaches uint32], ascending ids
      const ok = Array.isArray(e) && e.length === 3 && e.every((x) => is(UINT, x)) && !(BigInt(e[0]) >> 256n) &&
        !(BigInt(e[1]) >> 64n) && !(BigInt(e[2]) >> 32n);
      if (!ok || BigInt(e[0]) <= last) throw Error(`bad leases[${i}]`);
      last = BigInt(e[0]);
      return word(e[0]) + word(e[1]) + word(e[2]);
    });
    if (merkleRoot(rewardLeaves) !== "0x" + fields[1]) throw Error("rewardsRoot mismatch");
    if (merkleRoot(faultLeaves) !== "0x" + fields[2]) throw Error("faultsRoot mismatch");
    if (merkleRoot(leaseLeaves) !== "0x" + fields[3]) throw Error("leasesRoot mismatch");
  }
  return hex(keccak(bytes(TYPEHASH + word(epoch) + fields.join(""))));
}

// ---- Fetch, check (each distinct document once), count ----
const checked = new Map(); // document JSON -> { hash } or { fail }
const results = await Promise.all(endpoints.map(async (url) => {
  const res = await Functions.makeHttpRequest({ url: `${url}/v1/verdicts/${epoch}/leaves`, timeout: 4000, responseType: "json" });
  if (res.error) return { url, fail: res.code ? `HTTP ${res.code}` : String(res.message ?? "request failed").slice(0, 40) };
  const key = JSON.stringify(res.data);
  if (!checked.has(key)) {
    try {
      checked.set(key, { hash: check(res.data) });
    } catch (e) {
      checked.set(key, { fail: e.message });
    }
  }
  return { url, ...checked.get(key) };
}));
const votes = new Map();
for (const r of results) if (r.hash) votes.set(r.hash, (votes.get(r.hash) ?? 0) + 1);
const [best, count] = [...votes].sort((a, b) => b[1] - a[1])[0] ?? [null, 0];
if (count >= quorum) return bytes(word(epoch) + best);
const why = results.map((r) => `${r.url.replace(/^https?:\/\//, "")}: ${r.fail ?? "verdict 0x" + r.hash.slice(0, 8)}`);
throw Error(`no quorum: ${count} of ${quorum} agree; ${why.join("; ")}`.replace(/[^ -~]/g, "?").slice(0, 255));
