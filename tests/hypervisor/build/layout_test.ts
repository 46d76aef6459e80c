import assert from "node:assert/strict";
import fc from "fast-check";
import { computeLayout, countPgtables } from "../../../lib/hypervisor/builder/layout.ts";
import { InputError } from "../../../lib/errors.ts";

Deno.test("computeLayout() places segments as xc_dom_build_image does for a small kernel", () => {
  const l = computeLayout({
    virtBase: 0xc0000000,
    kernelStart: 0xc0000000,
    kernelEnd: 0xc0001800,
    ramdiskBytes: 0,
    totalPages: 2048,
  });
  assert.deepEqual(
    [l.kernel.pfn, l.kernel.pages, l.p2m.pfn, l.p2m.pages],
    [0, 2, 2, 2],
  );
  assert.deepEqual([l.startInfoPfn, l.xenstorePfn, l.consolePfn], [4, 5, 6]);
  // 129 pages of boot stack + slack push the end to the next 4 MiB boundary: 2 L1s,
  // 1 L2 (slot 3), 1 L3; no extra L2 since the range is in the top GiB already.
  assert.equal(l.virtPgtabEnd, 0xc0400000);
  assert.deepEqual([l.nrL3, l.nrL2, l.nrL1, l.extraL2], [1, 1, 2, false]);
  assert.equal(l.pgtables.pfn, 7);
  assert.equal(l.bootstackPfn, 11);
});

Deno.test("computeLayout() adds the slot-3 L2 when the mapping ends below 0xc0000000", () => {
  const l = computeLayout({
    virtBase: 0,
    kernelStart: 0,
    kernelEnd: 0x180000,
    ramdiskBytes: 100_000,
    totalPages: 16384,
  });
  assert.equal(l.extraL2, true);
  assert.equal(l.nrL2, 2);
  assert.ok(l.ramdisk);
  assert.equal(l.ramdisk.vstart, 0x180000);
  assert.equal(l.ramdisk.pages, Math.ceil(100_000 / 4096));
  assert.equal(l.p2m.vstart, l.ramdisk.vend);
});

Deno.test("computeLayout() maps its own page tables, boot stack and 512 KiB of slack", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 64 * 1024 * 1024 }),
      fc.integer({ min: 0, max: 8 * 1024 * 1024 }),
      fc.constantFrom(0, 0x40000000, 0x80000000, 0xc0000000),
      (kbytes, rbytes, base) => {
        const pages = 65536;
        let l;
        try {
          l = computeLayout({
            virtBase: base,
            kernelStart: base,
            kernelEnd: base + kbytes,
            ramdiskBytes: rbytes,
            totalPages: pages,
          });
        } catch (e) {
          assert.ok(e instanceof InputError);
          return;
        }
        const stackEnd = base + (l.bootstackPfn + 1) * 4096;
        assert.ok(l.virtPgtabEnd >= stackEnd + 512 * 1024, "slack mapped");
        assert.equal(l.virtPgtabEnd % (4 << 20), 0, "4 MiB aligned end");
        const c = countPgtables(base, l.virtPgtabEnd - 1);
        assert.equal(c.l1 + c.l2 + c.l3, l.pgtables.pages, "tables cover the range");
        assert.ok(l.pgtables.vstart >= l.p2m.vend && l.consolePfn < l.pgtables.pfn);
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("computeLayout() refuses images that reach the hypervisor hole or exceed memory", () => {
  assert.throws(
    () =>
      computeLayout({
        virtBase: 0xf5000000,
        kernelStart: 0xf5000000,
        kernelEnd: 0xf5780000,
        ramdiskBytes: 0,
        totalPages: 65536,
      }),
    /hypervisor hole/,
  );
  assert.throws(
    () =>
      computeLayout({
        virtBase: 0xc0000000,
        kernelStart: 0xc0000000,
        kernelEnd: 0xc1000000,
        ramdiskBytes: 0,
        totalPages: 1024,
      }),
    /pages/,
  );
  assert.throws(
    () =>
      computeLayout({
        virtBase: 0xc0000800,
        kernelStart: 0xc0000800,
        kernelEnd: 0xc0001000,
        ramdiskBytes: 0,
        totalPages: 1024,
      }),
    /not page aligned/,
  );
});
