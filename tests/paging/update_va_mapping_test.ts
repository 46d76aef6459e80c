import assert from "node:assert/strict";
import { ACC_READ, ACC_WRITE } from "../../lib/cpu/platform.ts";
import {
  FLUSH_ALL,
  FLUSH_PAGES,
  MACH2PHYS_VIRT_START,
  updateVaMapping,
  UVMF_ALL,
  UVMF_INVLPG,
  UVMF_TLB_FLUSH,
} from "../../lib/paging/mod.ts";
import { EBUSY, EINVAL } from "../../lib/abi/mod.ts";
import { makeTestGuest, PTE_PR_U, PTE_PRW_U } from "../../lib/paging/testing.ts";
import { asGfn } from "../../lib/abi/mod.ts";

Deno.test("updateVaMapping() replaces the mapping of a linear address and asks for invlpg", () => {
  const g = makeTestGuest(64, 2048, 2);
  const target = g.dom.p2m.get(asGfn(50));
  const rc = updateVaMapping(g.dom, 0, 10 * 4096, (target << 12) | PTE_PRW_U, 0, UVMF_INVLPG);
  assert.equal(rc, 0);
  assert.equal(g.dom.walkers[0].translate(10 * 4096, ACC_WRITE), target * 4096);
  assert.deepEqual([...g.dom.flush.kind], [FLUSH_PAGES, 0]);
  assert.equal(g.dom.flush.pages[0], 10 * 4096);
  assert.equal(
    updateVaMapping(g.dom, 1, 11 * 4096, 0, 0, UVMF_TLB_FLUSH | UVMF_ALL),
    0,
  );
  assert.deepEqual([...g.dom.flush.kind], [FLUSH_ALL, FLUSH_ALL]);
  assert.equal(g.dom.walkers[1].translate(11 * 4096, ACC_READ), -1);
});

Deno.test("updateVaMapping() refuses writable page tables and addresses without an L1", () => {
  const g = makeTestGuest();
  assert.equal(updateVaMapping(g.dom, 0, 10 * 4096, (g.l2 << 12) | PTE_PRW_U, 0, 0), -EBUSY);
  assert.equal(
    updateVaMapping(g.dom, 0, 0x40000000, (g.dom.p2m.get(asGfn(9)) << 12) | PTE_PR_U, 0, 0),
    -EINVAL,
  );
  // The hypervisor hole: the L1 there is Xen's.
  assert.equal(
    updateVaMapping(
      g.dom,
      0,
      MACH2PHYS_VIRT_START,
      (g.dom.p2m.get(asGfn(9)) << 12) | PTE_PR_U,
      0,
      0,
    ),
    -EINVAL,
  );
  assert.equal(updateVaMapping(g.dom, 0, 0xfffff000, 0, 0, 0), -EINVAL);
  assert.equal(g.dom.flush.kind[0], 0, "no flush on failure");
});

Deno.test("updateVaMapping() with a vcpu bitmap flushes only those vcpus", () => {
  const g = makeTestGuest(64, 2048, 3);
  const mask = 0b100;
  const ptr = 0x1000; // a guest pointer: neither UVMF_LOCAL nor UVMF_ALL
  assert.equal(updateVaMapping(g.dom, 0, 12 * 4096, 0, 0, UVMF_TLB_FLUSH | ptr, mask), 0);
  assert.deepEqual([...g.dom.flush.kind], [0, 0, FLUSH_ALL]);
});
