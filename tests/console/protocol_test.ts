import { deepStrictEqual, strictEqual } from "node:assert/strict";
import fc from "fast-check";
import {
  XENCONS_IN_PROD,
  XENCONS_IN_SIZE,
  XENCONS_OUT_SIZE,
  XenconsRing,
} from "../../lib/console/protocol.ts";

Deno.test("XenconsRing round-trips output bytes through any wrap position", () => {
  fc.assert(
    fc.property(fc.nat(), fc.uint8Array({ maxLength: XENCONS_OUT_SIZE }), (start, data) => {
      const r = new XenconsRing(new Uint8Array(4096));
      r.setIdx(3080, start);
      r.setIdx(3084, start);
      strictEqual(r.guestWrite(data), data.length);
      deepStrictEqual([...r.takeOutput(Infinity)], [...data]);
      strictEqual(r.outAvailable(), 0);
    }),
  );
});

Deno.test("XenconsRing round-trips input and never writes past the 1 KiB in ring", () => {
  fc.assert(
    fc.property(fc.nat(), fc.uint8Array({ maxLength: 3000 }), (start, data) => {
      const page = new Uint8Array(4096).fill(0xee);
      const r = new XenconsRing(page);
      r.setIdx(3072, start);
      r.setIdx(XENCONS_IN_PROD, start);
      const n = r.putInput(data);
      strictEqual(n, Math.min(data.length, XENCONS_IN_SIZE));
      deepStrictEqual([...r.guestRead()], [...data.subarray(0, n)]);
      strictEqual(page[3100], 0xee, "bytes past the interface untouched");
    }),
  );
});

Deno.test("XenconsRing reports inconsistent indices as -1", () => {
  const r = new XenconsRing(new Uint8Array(4096));
  r.setIdx(3084, 5000);
  strictEqual(r.outAvailable(), -1);
  strictEqual(r.takeOutput(100).length, 0);
  r.setIdx(XENCONS_IN_PROD, 2000);
  strictEqual(r.inSpace(), -1);
  strictEqual(r.putInput(new Uint8Array(5)), 0);
});
