/**
 * Hypercall fuzzing: random hypercall numbers with random arguments (raw words, small
 * numbers, pointers into guest scratch pages full of random bytes, pointers into the
 * hypervisor hole) from a booted guest's vcpu never throw inside pvx and never change a
 * byte or the ownership of another domain's memory. 20,000 calls by default, 200,000
 * under PVX_FUZZ=full.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import { pvHypercall } from "../../../lib/hypervisor/hypercalls/dispatch.ts";
import {
  R_EAX,
  R_EBP,
  R_EBX,
  R_ECX,
  R_EDI,
  R_EDX,
  R_ESI,
} from "../../../lib/hypervisor/machine/cpu_port.ts";
import { kernelImage } from "../_image.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const RUNS = FULL ? 2000 : 200;
const CALLS_PER_RUN = 100;
const SCRATCH = 0xc0010000; // 16 scratch pages inside the guest's initial mapping
const SCRATCH_PAGES = 16;

function setup() {
  const m = new Machine({
    image: kernelImage((a) => a.label("spin").jmpLabel("spin"), {
      bss: (SCRATCH_PAGES + 16) * 4096,
    }),
    memoryMiB: 8,
    vcpus: 2, // so VCPUOP_initialise of vcpu 1 gets random contexts too
  });
  // A second domain whose memory must never change.
  const victim = new Domain(m.host, 7, 64);
  for (let pfn = 0; pfn < 64; pfn++) victim.populate(pfn);
  victim.allocSharedInfo();
  m.evtchnOf(victim);
  m.gnttabOf(victim);
  const mfns: number[] = [];
  for (let pfn = 0; pfn < 64; pfn++) mfns.push(victim.mfnOf(pfn));
  let seed = 12345;
  for (const mfn of mfns) {
    for (let i = 0; i < 4096; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      m.host.mem.u8[mfn * 4096 + i] = seed >>> 24;
    }
  }
  const snapshot = mfns.map((mfn) => m.host.mem.u8.slice(mfn * 4096, mfn * 4096 + 4096));
  return { m, victim, mfns, snapshot };
}

const word = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 40 }),
  fc.constantFrom(0, 1, 2, 0x7ff0, 0x7ff1, 0x7ff2, 7, 0xffffffff, 0x80000000),
  fc.integer({ min: 0, max: SCRATCH_PAGES * 4096 - 1 }).map((o) => SCRATCH + o),
  fc.integer({ min: 0xf5800000, max: 0xffffffff }),
);
const nr = fc.oneof(
  fc.integer({ min: 0, max: 42 }),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const call = fc.record({
  nr,
  args: fc.array(word, { minLength: 6, maxLength: 6 }),
  fill: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  page: fc.integer({ min: 0, max: SCRATCH_PAGES - 1 }),
});

Deno.test("random hypercalls never throw and never touch another domain's memory", () => {
  const { m, victim, mfns, snapshot } = setup();
  const d = m.domain;
  const v = d.vcpus[0];
  const mem = m.host.mem;
  let calls = 0;
  fc.assert(
    fc.property(fc.array(call, { minLength: CALLS_PER_RUN, maxLength: CALLS_PER_RUN }), (batch) => {
      for (const c of batch) {
        // Random struct contents in a scratch page, written as the guest would.
        v.access.copyToGuest(SCRATCH + c.page * 4096 + (c.fill[0] & 0xf) * 64, c.fill);
        const r = v.cpu.gpr;
        r[R_EAX] = c.nr | 0;
        [r[R_EBX], r[R_ECX], r[R_EDX], r[R_ESI], r[R_EDI], r[R_EBP]] = c.args.map((x) => x | 0);
        pvHypercall(v);
        calls++;
        // Keep the guest alive and runnable so later calls still reach the handlers.
        d.shutdownReason = -1;
        d.shutdownCode = -1;
        v.blocked = false;
      }
    }),
    { numRuns: RUNS, seed: 42 },
  );
  assert.equal(calls, RUNS * CALLS_PER_RUN);
  for (let i = 0; i < mfns.length; i++) {
    assert.ok(m.host.frames.isOwnedBy(mfns[i], victim.domid), `victim frame ${mfns[i]} lost`);
    const now = mem.u8.subarray(mfns[i] * 4096, mfns[i] * 4096 + 4096);
    assert.deepEqual(now, snapshot[i], `victim frame ${mfns[i]} changed`);
  }
});
