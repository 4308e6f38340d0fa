// Holds a hand-written check to the zod schema it stands in for: every row of a
// table, a change made to a good value, goes through both; both must refuse it,
// or both accept it with the same output. Written against functions, so the
// testkit needs neither zod nor the checks.
import * as assert from "node:assert/strict";

/** What the row is, and the change it makes to a good value (which it may change in place). */
export type CheckRow = [string, (value: Record<string, unknown>) => unknown];

export function compareChecks(
  rows: readonly CheckRow[],
  good: () => Record<string, unknown>,
  bySchema: (value: unknown) => { success: true; data: unknown } | { success: false },
  byHand: (value: unknown) => unknown,
  isCheckError: (err: unknown) => boolean,
): void {
  for (const [what, change] of rows) {
    const input = change(good());
    const expected = bySchema(structuredClone(input));
    let actual: { accepted: true; data: unknown } | { accepted: false; error: unknown };
    try {
      actual = { accepted: true, data: byHand(structuredClone(input)) };
    } catch (error) {
      actual = { accepted: false, error };
    }
    if (expected.success) {
      if (!actual.accepted)
        assert.fail(
          `${what}: the schema accepts it, the hand check refuses it: ${String(actual.error)}`,
        );
      assert.deepEqual(actual.data, expected.data, `${what}: the outputs differ`);
    } else {
      assert.ok(!actual.accepted, `${what}: the schema refuses it, the hand check accepts it`);
      assert.ok(
        isCheckError(actual.error),
        `${what}: not a validation error: ${String(actual.error)}`,
      );
    }
  }
}
