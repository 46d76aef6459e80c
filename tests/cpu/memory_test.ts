/**
 * The memory path: TLB caching and invalidation, the non-throwing accessors the
 * hypervisor uses, decoded-code invalidation on writes, and the cpuid/rdtsc callbacks.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Cpu } from "../../lib/cpu/cpu.ts";
import { flatMachine, hex, MapWalker } from "../../lib/cpu/testing.ts";

const AT = 0x1000;

function paged(code: string) {
  const w = new MapWalker();
  for (let p = 0; p < 16; p++) w.map.set(p, { mfn: p, writable: true, user: true });
  const m = flatMachine(hex(code), AT, 64, w);
  return { ...m, w };
}

Deno.test("the TLB keeps a translation until invlpg or flushTlb drops it", () => {
  // mov eax, [0x5000]; hlt
  const m = paged("a1 00 50 00 00 f4");
  m.mem.dv.setUint32(0x5000, 1, true);
  m.mem.dv.setUint32(0x9000, 2, true);
  m.cpu.run(1);
  assert.equal(m.cpu.regs[0], 1);
  m.w.map.set(5, { mfn: 9, writable: true, user: true });
  const again = () => {
    m.cpu.eip = AT;
    m.cpu.run(1);
    return m.cpu.regs[0];
  };
  assert.equal(again(), 1, "stale entry still used");
  m.cpu.invlpg(0x5123);
  assert.equal(again(), 2);
  m.w.map.set(5, { mfn: 5, writable: true, user: true });
  m.cpu.flushTlb();
  assert.equal(again(), 1);
});

Deno.test("the TLB keeps separate entries per privilege and access kind", () => {
  const m = paged("a1 00 50 00 00 a3 00 50 00 00 f4");
  m.w.map.set(5, { mfn: 5, writable: false, user: true });
  m.cpu.run(3);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.errorCode, e.eip], [14, 3, AT + 5]);
  assert.equal(m.cpu.cr2, 0x5000);
});

Deno.test("tryRead32()/tryWrite32() report faults through cpu.faulted without throwing", () => {
  const m = paged("90");
  m.w.map.set(7, { mfn: 7, writable: false, user: false });
  m.cpu.tryWrite32(0x3ffe, 0x11223344);
  assert.equal(m.cpu.faulted, false);
  assert.equal(m.cpu.tryRead32(0x3ffe), 0x11223344);
  m.cpu.tryWrite32(0x7000, 5);
  assert.equal(m.cpu.faulted, true);
  assert.equal(m.cpu.cr2, 0x7000);
  assert.equal(m.cpu.pfErrorCode, 3);
  m.cpu.tryWrite32(0x6ffe, 0x55667788); // crosses into the read-only page: nothing written
  assert.equal(m.cpu.faulted, true);
  assert.equal(m.mem.dv.getUint16(0x6ffe, true), 0);
  m.cpu.tryRead32(0x7000, true);
  assert.equal(m.cpu.faulted, true);
  assert.equal(m.cpu.pfErrorCode & 4, 4);
  assert.equal(m.cpu.tryRead32(0x20000), 0);
  assert.equal(m.cpu.faulted, true);
  assert.equal(m.cpu.tryFetch8(0x1000), 0x90);
  assert.equal(m.cpu.faulted, false);
});

Deno.test("a guest store into its own code is seen by the next execution", () => {
  // 0x1000: mov byte [0x1020], 0x41 (inc ecx); call 0x1020; call 0x1020; hlt
  // 0x1020: inc eax; ret
  const m = flatMachine(hex("c6 05 20 10 00 00 41 e8 14 00 00 00 e8 0f 00 00 00 f4"), AT);
  m.mem.write(0x1020, hex("40 c3"));
  m.cpu.regs[4] = 0x8000;
  // run the routine once first so it is in the decoded cache
  m.cpu.eip = 0x1020;
  m.cpu.regs[4] -= 4;
  m.mem.dv.setUint32(m.cpu.regs[4], AT, true);
  m.cpu.run(2);
  assert.equal(m.cpu.regs[0], 1);
  m.cpu.run(100);
  assert.equal(m.cpu.halted, true);
  assert.deepEqual([m.cpu.regs[0], m.cpu.regs[1]], [1, 2]);
});

Deno.test("PhysMemory.write() from outside the CPU invalidates decoded code", () => {
  const m = flatMachine(hex("40 f4"), AT);
  m.cpu.run(5);
  assert.equal(m.cpu.regs[0], 1);
  m.mem.write(AT, hex("41"));
  m.cpu.eip = AT;
  m.cpu.halted = false;
  m.cpu.run(5);
  assert.deepEqual([m.cpu.regs[0], m.cpu.regs[1]], [1, 1]);
});

Deno.test("cpuid and rdtsc take their values from the Platform", () => {
  const m = flatMachine(hex("31 c0 0f a2 0f 31 f4"), AT);
  m.cpu.run(2);
  assert.deepEqual([m.cpu.regs[3], m.cpu.regs[2], m.cpu.regs[1]], [
    0x756e6547,
    0x49656e69,
    0x6c65746e,
  ]);
  m.cpu.run(5);
  assert.equal(m.cpu.regs[0], 4); // RecordingPlatform.rdtsc = 2 * retired at the call
  assert.equal(m.cpu.regs[2], 0);
});

Deno.test("rep movsd/stosd match an element-wise model for random sizes and overlaps", () => {
  const m = flatMachine(new Uint8Array(0), AT, 64);
  const ref = new Uint8Array(m.mem.u8.length);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 0x4000, max: 0x7000 }),
      fc.integer({ min: 0x4000, max: 0x7000 }),
      fc.constantFrom(1, 2, 4),
      fc.boolean(),
      (count, src, dst, size, stos) => {
        const op = stos ? (size === 1 ? "aa" : "ab") : size === 1 ? "a4" : "a5";
        m.mem.write(AT, hex((size === 2 ? "66 " : "") + "f3 " + op + " f4"));
        m.cpu.eip = AT;
        m.cpu.halted = false;
        for (let i = 0x4000; i < 0xa000; i++) m.mem.u8[i] = ref[i] = (i * 7) & 0xff;
        m.cpu.regs[0] = 0x12345678;
        m.cpu.regs[1] = count;
        m.cpu.regs[6] = src;
        m.cpu.regs[7] = dst;
        m.cpu.run(3);
        for (let i = 0; i < count; i++) {
          // each element is read whole, then written
          const el = ref.slice(src + i * size, src + i * size + size);
          for (let b = 0; b < size; b++) {
            ref[dst + i * size + b] = stos ? (0x12345678 >> (b * 8)) & 0xff : el[b];
          }
        }
        assert.deepEqual(m.mem.u8.subarray(0x4000, 0xa000), ref.subarray(0x4000, 0xa000));
        assert.equal(m.cpu.regs[1], 0);
        assert.equal(m.cpu.regs[7], dst + count * size);
        if (!stos) assert.equal(m.cpu.regs[6], src + count * size);
      },
    ),
    { numRuns: Deno.env.get("PVX_FUZZ") === "full" ? 3000 : 200 },
  );
});

Deno.test("a rep movs that faults part-way leaves ECX/ESI/EDI at the completed elements", () => {
  const w = new MapWalker();
  for (let p = 0; p < 8; p++) w.map.set(p, { mfn: p, writable: true, user: true });
  const m = flatMachine(hex("f3 a5"), AT, 64, w);
  m.cpu.regs[1] = 100;
  m.cpu.regs[6] = 0x4000;
  m.cpu.regs[7] = 0x7f00; // page 8 is unmapped: 64 dwords fit
  m.cpu.run(1);
  const e = m.platform.exceptions[0];
  assert.deepEqual([e.vector, e.eip, m.cpu.cr2], [14, AT, 0x8000]);
  assert.deepEqual([m.cpu.regs[1], m.cpu.regs[6], m.cpu.regs[7]], [36, 0x4100, 0x8000]);
});

Deno.test("a rep with a huge count runs in bounded chunks and resumes at the same EIP", () => {
  const m = flatMachine(hex("f3 ac f4"), AT, 64); // rep lodsb; hlt
  m.cpu.regs[1] = 200_000;
  m.cpu.regs[6] = 0;
  m.cpu.run(1);
  assert.equal(m.cpu.eip, AT);
  assert.equal(m.cpu.regs[1], 200_000 - 65_536);
  let guard = 0;
  while (!m.cpu.halted && guard++ < 10) m.cpu.run(1);
  assert.equal(m.cpu.regs[1], 0);
  assert.equal(m.cpu.regs[6], 200_000);
  assert.equal(m.platform.exceptions.length, 0);
});

Deno.test("a store by one CPU drops the code another CPU over the same memory decoded", () => {
  const a = flatMachine(hex("40 f4"), AT, 64); // inc eax; hlt
  const b = new Cpu(a.mem, a.platform, null);
  a.cpu.run(5);
  assert.equal(a.cpu.regs[0], 1);
  // CPU b: mov byte [0x1000], 0x41 (inc ecx); hlt
  a.mem.write(0x3000, hex("c6 05 00 10 00 00 41 f4"));
  b.eip = 0x3000;
  b.run(5);
  a.cpu.eip = AT;
  a.cpu.halted = false;
  a.cpu.run(5);
  assert.deepEqual([a.cpu.regs[0], a.cpu.regs[1]], [1, 1]);
});

Deno.test("a store into the next instruction of the same block takes effect", () => {
  // mov dword [0x100a], 0x9090f441 (turns the following inc eax into inc ecx); inc eax; hlt
  const m = flatMachine(hex("c7 05 0a 10 00 00 41 f4 90 90 40 f4"), AT);
  m.cpu.run(5);
  assert.deepEqual([m.cpu.regs[0], m.cpu.regs[1], m.cpu.halted], [0, 1, true]);
});
