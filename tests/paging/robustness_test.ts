/**
 * A malicious guest's hypercall arguments never make the model throw: every model entry
 * point answers arbitrary numbers (huge, negative, fractional, NaN) with a result code.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  mmuextOp,
  mmuMachphysUpdate,
  mmuUpdate,
  ptwrCmpxchg,
  ptwrEmulate,
  updateVaMapping,
} from "../../lib/paging/mod.ts";
import { makeTestGuest } from "../../lib/paging/testing.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const num = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer(),
  fc.constantFrom(0, -1, 0.5, NaN, 2 ** 52, 2 ** 32, 4096 * 300 + 8),
);

Deno.test("model entry points return codes, never throw, on arbitrary arguments", () => {
  const g = makeTestGuest(32, 512);
  const cur = new Uint32Array(2);
  fc.assert(
    fc.property(fc.nat(5), num, num, num, num, num, (which, a, b, c, e, h) => {
      const d = g.dom;
      let rc: number;
      switch (which) {
        case 0:
          rc = mmuUpdate(d, Math.abs(a), b, c);
          break;
        case 1:
          rc = mmuextOp(d, 0, Math.abs(a) % 24, b, c);
          break;
        case 2:
          rc = updateVaMapping(d, 0, a, b, c, e, h);
          break;
        case 3:
          rc = ptwrEmulate(d, 0, a, b, c, e);
          break;
        case 4:
          rc = ptwrCmpxchg(d, 0, a, b, c, e, h, 8, cur);
          break;
        default:
          rc = mmuMachphysUpdate(d, a, b);
      }
      assert.equal(typeof rc, "number");
      assert.ok(Number.isInteger(rc), `rc ${rc}`);
    }),
    { numRuns: FULL ? 50000 : 3000 },
  );
});
