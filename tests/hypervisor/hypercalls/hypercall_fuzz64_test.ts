/**
 * Hypercall fuzzing of a 64-bit PV domain: random hypercall numbers (rax, upper half
 * too) with random 64-bit arguments in rdi rsi rdx r10 r8 r9 (raw words, small and
 * negative numbers, pointers into guest scratch pages full of random bytes, pointers into
 * Xen's range, the read-only M2P, non-canonical and kernel upper-half addresses) entered
 * through the platform's `syscall` from guest kernel mode, each batch followed by a short
 * run of the domain from wherever the calls left it, never throw inside pvx and never
 * change a byte or the ownership of another domain's memory. 20,000 calls by default,
 * 200,000 under PVX_FUZZ=full. Also: vcpu 1 initialised and brought up on a valid x86_64
 * vcpu_guest_context with up to four fields mutated (60 contexts, 1,000 under full), then
 * run. PVX_FUZZ_SEED=N picks another seed, PVX_FUZZ_VERBOSE=1 prints the outcomes.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import { Pv64Platform } from "../../../lib/hypervisor/machine/pv64_platform.ts";
import { setKernelMode64 } from "../../../lib/hypervisor/pv64/traps64.ts";
import { BASE, kernel64 } from "../pv64/_kernel64.ts";

const FULL = Deno.env.get("PVX_FUZZ") === "full";
const RUNS = FULL ? 2000 : 200;
const CALLS_PER_RUN = 100;
/** Instructions the domain runs after each batch of calls. */
const RUN_INSTRUCTIONS = 5000;
const SEED = Number(Deno.env.get("PVX_FUZZ_SEED") ?? 42);
const SCRATCH = BASE + 0x10000; // 16 scratch pages inside the kernel's initial mapping
const SCRATCH_PAGES = 16;
/** rdi, rsi, rdx, r10, r8, r9. */
const ARG_REGS = [7, 6, 2, 10, 8, 9];

function setup() {
  const code = new Uint8Array(0x10000);
  code.set([0xeb, 0xfe]); // jmp .
  const image = kernel64(code);
  image.segments[0].memsz = 0x10000 + SCRATCH_PAGES * 4096;
  image.kernelEnd = BigInt(SCRATCH + SCRATCH_PAGES * 4096);
  const m = new Machine({ image, memoryMiB: 8, vcpus: 2 });
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

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** A 64-bit value as [lo, hi]. */
const word = fc.oneof(
  fc.tuple(u32, u32),
  fc.integer({ min: 0, max: 40 }).map((n) => [n, 0]),
  fc.integer({ min: 1, max: 40 }).map((n) => [-n >>> 0, 0xffffffff]),
  fc.constantFrom(
    [0, 0],
    [1, 0],
    [2, 0],
    [7, 0],
    [0x7ff0, 0],
    [0x7ff1, 0],
    [0x7ff2, 0],
    [0xffffffff, 0],
    [0x80000000, 0],
    [0xffffffff, 0xffffffff],
    [0, 0x8000], // first non-canonical address
    [0xfffff000, 0x7fff], // last page of the lower half
    [0, 0x80000000],
    [0, 0xffff8000], // the read-only M2P (Xen's L4 slot 256)
    [0, 0xffff8800], // HYPERVISOR_VIRT_END
    [0x80000000, 0xffffffff], // where Linux links its kernel
  ),
  fc.integer({ min: 0, max: SCRATCH_PAGES * 4096 - 1 }).map((o) => [SCRATCH + o, 0]),
  fc.integer({ min: 0, max: 63 }).map((o) => [o, HERE]), // into the struct just written
  fc.tuple(u32, fc.integer({ min: 0xffff8000, max: 0xffff87ff })), // Xen's range
  fc.tuple(u32, fc.integer({ min: 0x8000, max: 0xffff7fff })), // non-canonical
);
const nr = fc.oneof(
  fc.integer({ min: 0, max: 42 }).map((n) => [n, 0]),
  fc.tuple(u32, u32),
  fc.integer({ min: 0, max: 42 }).map((n) => [n, 1]),
);
/**
 * One 8-byte word of a struct in scratch memory: raw, or built at run time from the
 * domains' frames (kind 1: a PTE of a victim frame, 2: a PTE of one of the guest's own
 * frames, 3: the machine address of one of the guest's frames with an mmu_update command
 * in its low bits, 4: a victim mfn, 5: an own pfn, 6: a scratch pointer, 7: a small
 * number (a command, a count, a hypercall number), 8: a domid: self, the victim, DOMID_SELF).
 */
const structWord = fc.oneof(
  fc.tuple(fc.constant(0), u32, u32),
  fc.tuple(fc.integer({ min: 1, max: 8 }), u32, fc.constantFrom(0, 1, 3, 7, 0x63, 0x67, 0x27)),
);
const call = fc.record({
  nr,
  args: fc.array(word, { minLength: 6, maxLength: 6 }),
  fill: fc.array(structWord, { minLength: 8, maxLength: 8 }),
  at: fc.integer({ min: 0, max: 63 }),
  page: fc.integer({ min: 0, max: SCRATCH_PAGES - 1 }),
});

type Rig = ReturnType<typeof setup>;

/** The victim's frames are still its own and unchanged. */
function checkVictim({ m, victim, mfns, snapshot }: Rig): void {
  for (let i = 0; i < mfns.length; i++) {
    assert.ok(m.host.frames.isOwnedBy(mfns[i], victim.domid), `victim frame ${mfns[i]} lost`);
    const now = m.host.mem.u8.subarray(mfns[i] * 4096, mfns[i] * 4096 + 4096);
    assert.deepEqual(now, snapshot[i], `victim frame ${mfns[i]} changed`);
  }
}

const probe = new Uint8Array(1);
/** A word's high half saying "the struct just written, plus lo bytes". */
const HERE = -2;
const fillBytes = new Uint8Array(64);
const fillWords = new Uint32Array(fillBytes.buffer);

/** Materializes the struct words of one call into fillBytes. */
function materialize(rig: Rig, words: [number, number, number][]): void {
  const own = rig.m.domain;
  for (let i = 0; i < 8; i++) {
    const [kind, a, b] = words[i];
    let lo = a, hi = b;
    if (kind === 1 || kind === 4) {
      const mfn = rig.mfns[a % rig.mfns.length];
      lo = kind === 1 ? ((mfn << 12) | b) >>> 0 : mfn;
      hi = 0;
    } else if (kind === 2 || kind === 3 || kind === 5) {
      const pfn = a % own.totPages;
      const mfn = own.mfnOf(pfn);
      lo = kind === 5 ? pfn : kind === 2 ? ((mfn << 12) | b) >>> 0 : ((mfn << 12) | (b & 3)) >>> 0;
      hi = 0;
      if (kind === 3) lo = (lo + ((a >>> 16) & 0xff8)) >>> 0; // an entry in the frame
    } else if (kind === 6) {
      lo = SCRATCH + (a % (SCRATCH_PAGES * 4096));
      hi = 0;
    } else if (kind === 7) {
      lo = a % 48;
      hi = 0;
    } else if (kind === 8) {
      lo = [own.domid, rig.victim.domid, 0x7ff0][a % 3];
      hi = 0;
    }
    fillWords[2 * i] = lo;
    fillWords[2 * i + 1] = hi;
  }
}

Deno.test("random 64-bit hypercalls never throw and never touch another domain's memory", async () => {
  let rig = setup();
  let calls = 0, ok = 0, rigs = 1;
  const ends = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(
      fc.array(call, { minLength: CALLS_PER_RUN, maxLength: CALLS_PER_RUN }),
      async (batch) => {
        // A guest that unmapped its scratch pages or its own tables, or crashed, gets a fresh
        // domain (once the old one's victim checked out), so the calls keep reaching the
        // handlers' parsing.
        let v = rig.m.domain.vcpus[0];
        if (!v.pv64!.kernelMode) setKernelMode64(v, true);
        if (rig.m.domain.isShutdown || !v.access.copyToGuest(SCRATCH, probe)) {
          checkVictim(rig);
          rig = setup();
          rigs++;
          v = rig.m.domain.vcpus[0];
        }
        const d = rig.m.domain, c = v.cpu64!;
        const platform = new Pv64Platform(v);
        for (const k of batch) {
          // Random struct contents in a scratch page, written as the guest would.
          if (!v.pv64!.kernelMode) setKernelMode64(v, true);
          materialize(rig, k.fill);
          v.access.copyToGuest(SCRATCH + k.page * 4096 + k.at * 64, fillBytes);
          c.setReg(0, k.nr[0], k.nr[1]);
          const here = SCRATCH + k.page * 4096 + k.at * 64;
          for (let i = 0; i < 6; i++) {
            const [lo, hi] = k.args[i];
            if (hi === HERE) c.setReg(ARG_REGS[i], here + lo, 0);
            else c.setReg(ARG_REGS[i], lo, hi);
          }
          platform.syscall();
          calls++;
          if (c.hi(0) === 0 && c.lo(0) === 0) ok++;
          // Keep the guest alive and runnable so later calls still reach the handlers.
          d.shutdownReason = -1;
          d.shutdownCode = -1;
          v.blocked = false;
        }
        // Then the vcpus run from wherever the calls left them (a random trap table,
        // callbacks, vcpu 1 brought up on a random context, a changed stack or mode...).
        const r = await rig.m.run(undefined, RUN_INSTRUCTIONS);
        ends.set(r.reason, (ends.get(r.reason) ?? 0) + 1);
      },
    ),
    { numRuns: RUNS, seed: SEED },
  );
  if (Deno.env.get("PVX_FUZZ_VERBOSE")) console.log({ calls, ok, rigs, ends: [...ends] });
  assert.equal(calls, RUNS * CALLS_PER_RUN);
  assert.ok(ok > CALLS_PER_RUN, `${ok} calls succeeded`);
  assert.ok(rigs < RUNS, `${rigs} domains`);
  checkVictim(rig);
});

/** vcpu_guest_context (x86_64) offsets: user_regs fields, then the context's own. */
const CTX = {
  flags: 512,
  rip: 520 + 128,
  cs: 520 + 136,
  rflags: 520 + 144,
  rsp: 520 + 152,
  ss: 520 + 160,
  ds: 520 + 176,
  fs: 520 + 184,
  gs: 520 + 192,
  trap6: 720 + 6 * 16, // trap_ctxt[6]: vector, flags, cs, address
  ldtBase: 4816,
  ldtEnts: 4824,
  gdtFrame0: 4832,
  gdtEnts: 4960,
  kernelSs: 4968,
  kernelSp: 4976,
  cr1: 4984 + 8,
  cr3: 4984 + 24,
  dr7: 5048 + 56,
  event: 5112,
  failsafe: 5120,
  syscall: 5128,
  vmAssist: 5136,
  fsBase: 5144,
  gsKernel: 5152,
  gsUser: 5160,
};
const CTX_SIZE = 5168;
const FIELDS = Object.values(CTX);

const mutation = fc.record({
  field: fc.integer({ min: 0, max: FIELDS.length - 1 }),
  value: word,
  /** a value built from the domain's frames instead (kind 1..8 of structWord) */
  framed: fc.option(structWord, { nil: undefined }),
});

Deno.test("vcpu 1 brought up on a mutated 64-bit vcpu_guest_context runs without escaping", async () => {
  const ends = new Map<string, number>();
  let up = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { maxLength: 4 }), async (muts) => {
      const rig = setup();
      const d = rig.m.domain, v = d.vcpus[0], c = v.cpu64!;
      // a valid context: vcpu 0's tables, a stack and the jmp-to-self at BASE
      const ctx = new Uint8Array(CTX_SIZE), dv = new DataView(ctx.buffer);
      const stack = SCRATCH + 0xf000;
      dv.setUint32(CTX.flags, 1 << 2, true); // VGCF_in_kernel
      dv.setUint32(CTX.rip, BASE, true);
      dv.setUint16(CTX.cs, 0xe033, true);
      dv.setUint32(CTX.rflags, 0x200, true);
      dv.setUint32(CTX.rsp, stack, true);
      dv.setUint16(CTX.ss, 0xe02b, true);
      dv.setUint16(CTX.kernelSs, 0xe02b, true);
      dv.setUint32(CTX.kernelSp, stack, true);
      dv.setUint32(CTX.cr3, d.mm.baseMfn[0] * 4096, true); // a PV cr3 holds the L4's mfn
      for (const mu of muts) {
        let [lo, hi] = mu.value;
        if (hi === HERE) [lo, hi] = [SCRATCH + lo, 0];
        if (mu.framed) {
          materialize(rig, Array(8).fill(mu.framed));
          [lo, hi] = [fillWords[0], fillWords[1]];
        }
        dv.setUint32(FIELDS[mu.field], lo, true);
        dv.setUint32(FIELDS[mu.field] + 4, hi, true);
      }
      assert.ok(v.access.copyToGuest(SCRATCH, ctx));
      const platform = new Pv64Platform(v);
      const vcpuOp = (cmd: number) => {
        c.setReg(0, 24, 0);
        c.setReg(7, cmd, 0);
        c.setReg(6, 1, 0);
        c.setReg(2, SCRATCH, 0);
        platform.syscall();
        return c.lo(0) | 0;
      };
      if (vcpuOp(0) === 0 && vcpuOp(1) === 0) up++;
      const r = await rig.m.run(undefined, RUN_INSTRUCTIONS);
      ends.set(r.reason, (ends.get(r.reason) ?? 0) + 1);
      checkVictim(rig);
    }),
    { numRuns: FULL ? 1000 : 60, seed: SEED },
  );
  if (Deno.env.get("PVX_FUZZ_VERBOSE")) console.log({ up, ends: [...ends] });
  assert.ok(up > 0, "some contexts are accepted");
});
