// Test prerequisites for common's own integration specs. common cannot reference
// @support-tunnel/lab at build time (the lab depends on common), so its helpers are
// loaded at run time, when the whole workspace has been built.
import { createRequire } from "node:module";

interface SkippableContext {
  skip(): void;
}

interface LabPrerequisites {
  requirePrerequisite(ctx: SkippableContext, missing: string | null): void;
  missingCommands(...commands: string[]): string | null;
  missingRoot(): string | null;
}

const lab = createRequire(__filename)("@support-tunnel/lab") as LabPrerequisites;

export const requirePrerequisite = lab.requirePrerequisite;
export const missingCommands = lab.missingCommands;
export const missingRoot = lab.missingRoot;

/** Runs `work` over `items` with at most `limit` calls in flight; results keep input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
