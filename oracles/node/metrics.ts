/** Ingest counters, rendered in the Prometheus text exposition format. */
export class IngestMetrics {
  private accepted = 0;
  private readonly rejected = new Map<string, number>();

  accept(): void {
    this.accepted += 1;
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
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
      "# HELP meshwork_ingest_proofs_stored Proofs in the store.",
      "# TYPE meshwork_ingest_proofs_stored gauge",
      `meshwork_ingest_proofs_stored ${storedProofs}`,
    ];
    return lines.join("\n") + "\n";
  }
}
