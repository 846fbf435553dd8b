import fc from "fast-check";

/** fast-check options from the environment: `variable` replays a reported seed. */
export function seedFromEnv(variable: string): { seed?: number } {
  const value = process.env[variable];
  return value === undefined ? {} : { seed: Number(value) };
}

/**
 * Checks `run` over `arbitrary` with a time budget for shrinking: shrinking replays whole scenarios on the chain, so
 * once `shrinkBudgetMs` has passed after the first failure the remaining candidates are skipped (fc.pre), and
 * fast-check reports the smallest counterexample found so far.
 */
export async function assertScenarios<T>(
  arbitrary: fc.Arbitrary<T>,
  run: (value: T) => Promise<void>,
  options: { numRuns: number; shrinkBudgetMs: number; seedVariable: string },
): Promise<void> {
  let shrinkDeadline: number | undefined;
  const property = fc.asyncProperty(arbitrary, async (value) => {
    fc.pre(shrinkDeadline === undefined || Date.now() < shrinkDeadline);
    try {
      await run(value);
    } catch (e) {
      shrinkDeadline ??= Date.now() + options.shrinkBudgetMs;
      throw e;
    }
  });
  await fc.assert(property, { numRuns: options.numRuns, ...seedFromEnv(options.seedVariable) });
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
