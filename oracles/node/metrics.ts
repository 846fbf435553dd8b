/** Ingest counters, rendered in the Prometheus text exposition format. */
export class IngestMetrics {
  private accepted = 0;
  private readonly rejected = new Map<string, number>();
  private served = 0;

  accept(): void {
    this.accepted += 1;
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  /** `n` proofs served to a peer by GET /v1/sync/proofs. */
  serve(n: number): void {
    this.served += n;
  }

  render(storedProofs: number): string {
    const lines = [
      "# HELP meshwork_ingest_proofs_accepted_total Proofs stored and acknowledged.",
      "# TYPE meshwork_ingest_proofs_accepted_total counter",
      `meshwork_ingest_proofs_accepted_total ${this.accepted}`,
      "# HELP meshwork_ingest_proofs_rejected_total Proofs or requests rejected, by reason.",
      "# TYPE meshwork_ingest_proofs_rejected_total counter",
      ...[...this.rejected.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([reason, n]) => `meshwork_ingest_proofs_rejected_total{reason="${reason}"} ${n}`),
      "# HELP meshwork_ingest_sync_proofs_served_total Proofs served to peer oracles (GET /v1/sync/proofs).",
      "# TYPE meshwork_ingest_sync_proofs_served_total counter",
      `meshwork_ingest_sync_proofs_served_total ${this.served}`,
      "# HELP meshwork_ingest_proofs_stored Proofs in the store.",
      "# TYPE meshwork_ingest_proofs_stored gauge",
      `meshwork_ingest_proofs_stored ${storedProofs}`,
    ];
    return lines.join("\n") + "\n";
  }
}
