import assert from "node:assert/strict";
import { HYPERCALL_TABLE } from "../../../lib/hypervisor/hypercalls/table.ts";

Deno.test("HYPERCALL_TABLE has a handler for every hypercall number xen.h defines", async () => {
  const header = await Deno.readTextFile("/usr/include/xen/xen.h").catch(() => null);
  const numbers = header
    ? [...header.matchAll(/^#define __HYPERVISOR_\w+\s+(\d+)/gm)].map((m) => Number(m[1]))
    : [...Array(43).keys()].filter((n) => n !== 11);
  assert.ok(numbers.length >= 40, `${numbers.length} numbers`);
  for (const n of numbers) {
    if (n >= 48) continue; // arch_N: only arch_0 (mca) is an x86 hypercall
    assert.ok(HYPERCALL_TABLE[n], `no handler for hypercall ${n}`);
  }
  assert.equal(HYPERCALL_TABLE[11], undefined, "11 is unused in xen.h");
  assert.ok(HYPERCALL_TABLE[48], "__HYPERVISOR_mca (arch_0)");
});
