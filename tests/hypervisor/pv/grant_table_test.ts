/**
 * GNTMAP_host_map for a PV guest (lib/hypervisor/pv/grant_table.ts): the L1 entry written at
 * a linear address or a PTE's machine address, read-only grants, refused addresses, and
 * unmap_and_replace moving an entry.
 */
import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import type { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import { installGrantMapCheck, pvGrantHostMapper } from "../../../lib/hypervisor/pv/grant_table.ts";
import { guestL1Mfn } from "../../../lib/paging/guest_l1e.ts";
import { _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, pteFrame } from "../../../lib/paging/constants.ts";
import {
  GNTMAP_application_map,
  GNTMAP_contains_pte,
  GNTMAP_readonly,
  GNTST_general_error,
  GNTST_okay,
} from "../../../lib/abi/mod.ts";
import { helloKernel } from "../_image.ts";
import { asGfn } from "../../../lib/abi/mod.ts";

/** A built (not run) domain, two of its free RAM frames, and slots of a bootstrap L1. */
function setup() {
  const m = new Machine({ image: helloKernel(), memoryMiB: 8 });
  const d: Domain = m.domain;
  const f = d.host.frames;
  const top = d.mm.p2m.maxPfns - 1;
  const [a, b] = [d.mm.p2m.get(asGfn(top)), d.mm.p2m.get(asGfn(top - 1))];
  // a slot of the bootstrap mappings over plain RAM (mapping there drops the old entry)
  const va = m.built.layout.virtBase + 0x200000;
  const entry = (addr: number) => {
    const l1 = guestL1Mfn(d.mm, 0, addr);
    const i = l1 * 1024 + ((addr >>> 12) & 511) * 2;
    return { lo: f.u32[i], hi: f.u32[i + 1], maddr: l1 * 4096 + ((addr >>> 12) & 511) * 8 };
  };
  return { m, d, a, b, va, entry, mapper: pvGrantHostMapper(d) };
}

Deno.test("host_map writes the frame into the L1 entry of a linear address, then unmaps it", () => {
  const { a, va, entry, mapper } = setup();
  assert.equal(mapper.create(va, a, GNTMAP_application_map), GNTST_okay);
  const e = entry(va);
  assert.equal(pteFrame(e.lo, e.hi), a);
  assert.ok(e.lo & _PAGE_PRESENT && e.lo & _PAGE_RW && e.lo & _PAGE_USER);
  assert.equal(mapper.replace(va, a, 0, 0), GNTST_okay);
  assert.equal(entry(va).lo, 0);
});

Deno.test("host_map of a read-only grant leaves _PAGE_RW clear", () => {
  const { a, va, entry, mapper } = setup();
  assert.equal(mapper.create(va, a, GNTMAP_readonly), GNTST_okay);
  assert.equal(entry(va).lo & _PAGE_RW, 0);
  assert.equal(pteFrame(entry(va).lo, entry(va).hi), a);
});

Deno.test("GNTMAP_contains_pte names the entry by machine address; a misaligned one is refused", () => {
  const { a, va, entry, mapper } = setup();
  const { maddr } = entry(va);
  assert.equal(mapper.create(maddr + 4, a, GNTMAP_contains_pte), GNTST_general_error);
  assert.equal(mapper.create(maddr, a, GNTMAP_contains_pte), GNTST_okay);
  assert.equal(pteFrame(entry(va).lo, entry(va).hi), a);
});

Deno.test("addresses in the hypervisor hole or with no L1 are refused", () => {
  const { a, mapper } = setup();
  assert.equal(mapper.create(0xf5800000, a, 0), GNTST_general_error);
  assert.equal(mapper.create(0x00400000, a, 0), GNTST_general_error);
});

Deno.test("unmap_and_replace moves the entry at new_addr; a frame mismatch is refused", () => {
  const { a, b, va, entry, mapper } = setup();
  const va2 = va + 4096;
  assert.equal(mapper.create(va, a, 0), GNTST_okay);
  assert.equal(mapper.create(va2, b, 0), GNTST_okay);
  assert.equal(mapper.replace(va, b, 0, 0), GNTST_general_error); // va maps a, not b
  assert.equal(mapper.replace(va, a, va2, 0), GNTST_okay);
  assert.equal(pteFrame(entry(va).lo, entry(va).hi), b);
  assert.equal(entry(va2).lo, 0);
});

Deno.test("the paging validator accepts a foreign entry only for a frame the domain maps by grant", () => {
  const { m, a } = setup();
  installGrantMapCheck(m.host);
  const check = m.host.frames.foreignMapCheck!;
  assert.equal(check(m.domain.domid, a, false), false); // no grant mapping of `a`
});
