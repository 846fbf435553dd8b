/**
 * Pure rules of the submit stage: which signatures make a quorum, who dissents, and in which order the committee's
 * members act, so that one of them relays (finalises, applies faults) and the others only step in when it does not.
 */

/** One committee member's signature of one verdict digest. */
export interface DigestSignature {
  signer: string;
  digest: string;
  signature: string;
}

export interface Tally {
  digest: string;
  /** Signers, ascending by address. */
  signers: string[];
}

const byAddress = (a: string, b: string): number => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Signers per digest, most-signed first (ties by digest), among `members` only. */
export function tally(signatures: readonly DigestSignature[], members: readonly string[]): Tally[] {
  const committee = new Set(members.map((m) => m.toLowerCase()));
  const byDigest = new Map<string, Set<string>>();
  for (const s of signatures) {
    if (!committee.has(s.signer.toLowerCase())) continue;
    const digest = s.digest.toLowerCase();
    byDigest.set(digest, (byDigest.get(digest) ?? new Set()).add(s.signer));
  }
  return [...byDigest.entries()]
    .map(([digest, signers]) => ({ digest, signers: [...signers].sort(byAddress) }))
    .sort((a, b) => b.signers.length - a.signers.length || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

/**
 * The signatures of `digest` to relay, ordered by signer as `OracleHub.submitVerdict` requires, or null below
 * `threshold`. All matching signatures are relayed (more than the threshold costs a little gas and shows more support).
 */
export function quorumSignatures(
  signatures: readonly DigestSignature[],
  members: readonly string[],
  digest: string,
  threshold: number,
): string[] | null {
  const committee = new Set(members.map((m) => m.toLowerCase()));
  const matching = signatures
    .filter((s) => s.digest.toLowerCase() === digest.toLowerCase() && committee.has(s.signer.toLowerCase()))
    .sort((a, b) => byAddress(a.signer, b.signer));
  return matching.length >= threshold ? matching.map((s) => s.signature) : null;
}

/** Members whose latest signature is of another digest than `agreed` (the submitted or the quorum digest). */
export function dissents<S extends DigestSignature>(signatures: readonly S[], agreed: string): S[] {
  return signatures
    .filter((s) => s.digest.toLowerCase() !== agreed.toLowerCase())
    .sort((a, b) => byAddress(a.signer, b.signer));
}

/**
 * `self`'s turn among `members` for `epoch`: 0 acts at once, rank k after k stagger periods. The rotation starts at
 * member `epoch mod n` (members sorted by address), so the relaying work and its gas are shared. -1 when `self` is not
 * a member.
 */
export function turnOf(self: string, members: readonly string[], epoch: bigint): number {
  const sorted = [...members].sort(byAddress);
  const index = sorted.findIndex((m) => m.toLowerCase() === self.toLowerCase());
  if (index < 0) return -1;
  const n = sorted.length;
  const start = Number(epoch % BigInt(n));
  return (index - start + n) % n;
}
