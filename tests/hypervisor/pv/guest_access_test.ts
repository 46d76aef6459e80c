import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { helloKernel } from "../_image.ts";

function access() {
  const m = new Machine({ image: helloKernel(), memoryMiB: 8 });
  // The initial mappings cover virt_base .. virt_pgtab_end; the page tables are read-only.
  return {
    m,
    a: m.domain.vcpus[0].access,
    end: m.built.layout.virtPgtabEnd,
    pt: m.built.layout.pgtables,
  };
}

Deno.test("GuestAccess copies round-trip across page boundaries within the guest's mappings", () => {
  const { a, pt, end } = access();
  const lo = pt.vend, hi = end; // boot stack and slack: writable, mapped
  fc.assert(
    fc.property(
      fc.integer({ min: lo, max: hi - 1 }),
      fc.uint8Array({ minLength: 1, maxLength: 9000 }),
      (va, bytes) => {
        fc.pre(va + bytes.length <= hi);
        assert.equal(a.copyToGuest(va, bytes), true);
        const back = new Uint8Array(bytes.length);
        assert.equal(a.copyFromGuest(va, back), true);
        assert.deepEqual(back, bytes);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("GuestAccess refuses, without writing anything, a copy that reaches a bad page", () => {
  const { a, end, pt } = access();
  const snap = (va: number, n: number) => {
    const b = new Uint8Array(n);
    assert.equal(a.copyFromGuest(va, b), true);
    return b;
  };
  const tail = snap(end - 100, 100), beforeTables = snap(pt.vstart - 100, 100);
  // Ends past the mapped range; ends in the read-only page tables; starts in the hole.
  assert.equal(a.copyToGuest(end - 100, new Uint8Array(200).fill(7)), false);
  assert.equal(a.copyToGuest(pt.vstart - 100, new Uint8Array(200).fill(7)), false);
  assert.equal(a.copyToGuest(0xf5800000, new Uint8Array(4)), false);
  assert.equal(a.copyFromGuest(0xfffffffe, new Uint8Array(4)), false);
  assert.equal(a.copyFromGuest(end - 2, new Uint8Array(4)), false);
  assert.deepEqual(snap(end - 100, 100), tail, "nothing written before the unmapped page");
  assert.deepEqual(snap(pt.vstart - 100, 100), beforeTables, "nothing written before the tables");
  assert.equal(a.readU32(end), 0);
  assert.equal(a.fault, true);
  assert.equal(a.readU32(0xc0000000 + 18 * 32), 0x000012b8, "hypercall page slot 18");
  assert.equal(a.fault, false);
});
