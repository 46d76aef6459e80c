/**
 * Byte-array equality for the blkfront tests: reports the first difference instead of
 * node:assert's full diff, which takes minutes on arrays of megabytes.
 * @module
 */
import { AssertionError } from "node:assert/strict";

/** Asserts `actual` and `expected` hold the same bytes. */
export function assertBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  if (actual.length !== expected.length) {
    throw new AssertionError({
      message: `${what}: length ${actual.length} !== ${expected.length}`,
    });
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new AssertionError({
        message: `${what}: first difference at byte ${i} (sector ${i >> 9}): ` +
          `${actual[i]} !== ${expected[i]}`,
      });
    }
  }
}
