/** fast-check options from the environment: `<prefix>_SEED` replays a reported seed. */
export function seedFromEnv(variable: string): { seed?: number } {
  const value = process.env[variable];
  return value === undefined ? {} : { seed: Number(value) };
}

/** With INVARIANT_STATS set, prints how often each action outcome occurred. */
export function printStats(stats: Map<string, number>): void {
  if (!process.env.INVARIANT_STATS) return;
  console.log(
    [...stats]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, n]) => `      ${k}: ${n}`)
      .join("\n"),
  );
}
