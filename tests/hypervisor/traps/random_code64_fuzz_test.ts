/**
 * Random code in a 64-bit PV domain, run by the guest kernel at CPL 3: chunks of random
 * bytes mixed with the instructions that reach the hypervisor (syscall hypercalls, calls
 * into the hypercall page, int n, iretq/sysret/swapgs, cr/dr/MSR moves, in/out, cli/sti,
 * hlt, the forced-emulation prefix, stores into the read-only page tables, an iret
 * hypercall to user mode), random 64-bit registers (pointers into the kernel's pages, its
 * page tables, the hypercall page, Xen's range, the M2P, non-canonical), optionally a trap
 * table whose handlers re-enter the random code or iret back, set_callbacks, a user L4
 * and the virtual IOPL. Whatever happens, pvx never throws, the run ends cleanly and
 * another domain's frames keep their owner and bytes.
 * 150 kernels by default, 5,000 under PVX_FUZZ=full.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { Domain } from "../../../lib/hypervisor/domain/domain.ts";
import { BASE, kernel64, le32 } from "../pv64/_kernel64.ts";

const RUNS = Deno.env.get("PVX_FUZZ") === "full" ? 5000 : 150;
const SEED = Number(Deno.env.get("PVX_FUZZ_SEED") ?? 7);

const HANDLER = BASE + 0x800; // the "iret back" trap handler
const HYPERCALL_PAGE = BASE + 0x1000;
const CODE = BASE + 0x2000;
const TABLE = BASE + 0x3000;
const DATA = BASE + 0x4000; // iopl word, then the mmuext_op (user L4 mfn filled in at +16)
const SCRATCH = BASE + 0x5000;
const END = BASE + 0x9000;

/** A chunk of the random code: raw bytes, or one of the interesting instructions. */
type Chunk = { kind: number; bytes: number[]; n: number };

/** An encoded chunk at `at` (rel32 targets need the address). */
function encode(c: Chunk, at: number, codeLen: number): number[] {
  const rel32 = (to: number, len: number) => le32((to - (at + len)) >>> 0);
  switch (c.kind) {
    case 0:
      return c.bytes;
    case 1: // mov $nr,%eax; syscall
      return [0xb8, ...le32(c.n % 48), 0x0f, 0x05];
    case 2: // call hypercall_page + nr*32
      return [0xe8, ...rel32(HYPERCALL_PAGE + (c.n % 48) * 32, 5)];
    case 3: // int $n
      return [0xcd, c.n & 0xff];
    case 4: // jmp back into the random code
      return [0xe9, ...rel32(CODE + (c.n % Math.max(1, codeLen)), 5)];
    case 5: { // an iret hypercall to user mode at a random point of the code
      const rip = CODE + (c.n % Math.max(1, codeLen));
      return [
        0x6a,
        0x2b, // push $0x2b (ss: RPL 3 is enough, Xen ors it in)
        0x54, // push %rsp
        0x9c, // pushf
        0x68,
        ...le32(0xe033), // push $FLAT_USER_CS64
        0x68,
        ...le32(rip), // push $rip
        0x6a,
        0x68,
        ...le32((c.n >>> 8) & 1 ? 0x100 : 0), // push $flags (VGCF_in_syscall or not)
        0x51,
        0x41,
        0x53,
        0x50, // push %rcx; push %r11; push %rax
        0xb8,
        ...le32(23),
        0x0f,
        0x05, // mov $23,%eax; syscall
      ];
    }
    case 6: // vcpu_op(VCPUOP_initialise or VCPUOP_up, 1, a context in the scratch pages)
      return [
        0xbf,
        ...le32(c.n & 1), // mov $cmd,%edi
        0xbe,
        ...le32(1), // mov $1,%esi
        0xba,
        ...le32(SCRATCH + ((c.n >>> 1) % (END - SCRATCH - 0x1000))), // mov $ctx,%edx
        0xb8,
        ...le32(24),
        0x0f,
        0x05, // mov $24,%eax; syscall
      ];
    default:
      return c.bytes;
  }
}

const SNIPPETS: number[][] = [
  [0x0f, 0x05], // syscall
  [0xcc], // int3
  [0x0f, 0x0b], // ud2
  [0x48, 0xcf], // iretq
  [0x48, 0x0f, 0x07], // sysretq
  [0x0f, 0x34], // sysenter
  [0x0f, 0x35], // sysexit
  [0x0f, 0x01, 0xf8], // swapgs
  [0x0f, 0x32], // rdmsr
  [0x0f, 0x30], // wrmsr
  [0x0f, 0x22, 0xd8], // mov %rax,%cr3
  [0x0f, 0x22, 0xc0], // mov %rax,%cr0
  [0x0f, 0x22, 0xe0], // mov %rax,%cr4
  [0x0f, 0x20, 0xd8], // mov %cr3,%rax
  [0x0f, 0x20, 0xd0], // mov %cr2,%rax
  [0x0f, 0x23, 0xf8], // mov %rax,%dr7
  [0x0f, 0x21, 0xf0], // mov %dr6,%rax
  [0x0f, 0x06], // clts
  [0xf4], // hlt
  [0xfa], // cli
  [0xfb], // sti
  [0xe4, 0x71], // in $0x71,%al
  [0xe6, 0x80], // out %al,$0x80
  [0xec], // in (%dx),%al
  [0xef], // out %eax,(%dx)
  [0x6c], // insb
  [0xf3, 0x6e], // rep outsb
  [0x0f, 0x01, 0x13], // lgdt (%rbx)
  [0x0f, 0x00, 0x13], // lldt (%rbx)
  [0x0f, 0x01, 0x3b], // invlpg (%rbx)
  [0x0f, 0x09], // wbinvd
  [0x0f, 0x31], // rdtsc
  [0x0f, 0x01, 0xf9], // rdtscp
  [0x0f, 0xa2], // cpuid
  [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2], // forced-emulation cpuid
  [0x9c], // pushf
  [0x9d], // popf
  [0x48, 0x89, 0x03], // mov %rax,(%rbx)
  [0x89, 0x03], // mov %eax,(%rbx)
  [0x48, 0x87, 0x03], // xchg %rax,(%rbx)
  [0xf0, 0x48, 0x0f, 0xb1, 0x0b], // lock cmpxchg %rcx,(%rbx)
  [0x48, 0x09, 0x03], // or %rax,(%rbx)
  [0x48, 0xab], // stos %rax,(%rdi)
  [0x48, 0x89, 0x04, 0x24], // mov %rax,(%rsp)
  [0x48, 0x89, 0xdc], // mov %rbx,%rsp
  [0x8e, 0xd8], // mov %eax,%ds
  [0x8e, 0xe8], // mov %eax,%gs
  [0x0f, 0xa9], // pop %gs
  [0xff, 0xd3], // call *%rbx
  [0xff, 0xe3], // jmp *%rbx
  [0xc3], // ret
  [0xcf], // iret (32-bit operand)
  [0xca, 0x08, 0x00], // lret $8
  [0xdb, 0xe3], // fninit
  [0x0f, 0xae, 0x03], // fxsave (%rbx)
];

const chunk: fc.Arbitrary<Chunk> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((b) => ({
      kind: 0,
      bytes: [...b],
      n: 0,
    })),
  },
  { weight: 4, arbitrary: fc.constantFrom(...SNIPPETS).map((b) => ({ kind: 0, bytes: b, n: 0 })) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.integer({ min: 1, max: 6 }),
      bytes: fc.constant([] as number[]),
      n: fc.nat(),
    }),
  },
);

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** A register value as [lo, hi]. */
const reg = fc.oneof(
  fc.tuple(u32, u32),
  fc.tuple(u32, fc.constant(0)),
  fc.integer({ min: 0, max: 0x40 }).map((n) => [n, 0]),
  fc.integer({ min: BASE, max: BASE + 0x40000 }).map((a) => [a & ~7, 0]), // image, tables, stack
  fc.integer({ min: SCRATCH, max: END - 8 }).map((a) => [a, 0]),
  fc.integer({ min: 0, max: 47 }).map((n) => [HYPERCALL_PAGE + n * 32, 0]),
  fc.constantFrom(
    [0, 0x8000], // non-canonical
    [0, 0xffff8000], // the read-only M2P
    [0x1000, 0xffff8400], // Xen's range
    [0xffffffff, 0xffffffff],
    [0, 0x80000000],
    [0xfffffff8, 0x00007fff],
  ),
);

type Kernel = {
  code: Chunk[];
  regs: [number, number][];
  traps: number; // 0: none, 1: handlers iret back, 2: handlers re-enter the code
  iopl: boolean;
  callbacks: boolean;
  user: boolean;
  handlerAt: number[];
  scratchSeed: number;
};

function build(k: Kernel): { bytes: Uint8Array; codeLen: number } {
  const img = new Uint8Array(END - BASE);
  // the random code (two passes: rel32 targets need the code's length)
  let code: number[] = [];
  for (let pass = 0; pass < 2; pass++) {
    const len = code.length;
    code = [];
    for (const c of k.code) code.push(...encode(c, CODE + code.length, len));
  }
  code.push(0xeb, 0xfe); // jmp . (if the code falls through)
  img.set(code.slice(0, 0x1000 - 2), CODE - BASE);
  // trap handler that irets back: pop %rcx; pop %r11; push $0; push %rcx; push %r11;
  // push %rax; mov $23,%eax; syscall
  img.set(
    [0x59, 0x41, 0x5b, 0x6a, 0, 0x51, 0x41, 0x53, 0x50, 0xb8, ...le32(23), 0x0f, 0x05],
    HANDLER - BASE,
  );
  // trap table: vectors 0..19 and 0x80, DPL 3 (flags 3) for the soft ones
  const t = new DataView(img.buffer, TABLE - BASE);
  const vectors = [...Array(20).keys(), 0x80];
  vectors.forEach((vec, i) => {
    const to = k.traps === 1 ? HANDLER : CODE + (k.handlerAt[i % k.handlerAt.length] % code.length);
    t.setUint8(i * 16, vec);
    t.setUint8(i * 16 + 1, vec === 3 || vec === 4 || vec === 0x80 ? 3 : 0);
    t.setUint16(i * 16 + 2, 0xe033, true);
    t.setUint32(i * 16 + 8, to, true);
  });
  // scratch pages of pseudo-random bytes (vcpu contexts, structs), a quarter left zero
  let seed = k.scratchSeed;
  for (let i = SCRATCH - BASE; i < END - BASE - 0x1000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    img[i] = (seed >>> 30) === 0 ? 0 : seed >>> 24;
  }
  const dv = new DataView(img.buffer, DATA - BASE);
  dv.setUint32(0, 1, true); // iopl 1
  dv.setUint32(8, 15, true); // MMUEXT_NEW_USER_BASEPTR; mfn at +16 filled in by the test
  // prologue
  const p: number[] = [];
  if (k.traps !== 0) p.push(0xbf, ...le32(TABLE), 0xb8, ...le32(0), 0x0f, 0x05);
  if (k.iopl) p.push(0xbf, ...le32(6), 0xbe, ...le32(DATA), 0xb8, ...le32(33), 0x0f, 0x05);
  if (k.callbacks) {
    const cb = (i: number) => CODE + (k.handlerAt[i % k.handlerAt.length] % code.length);
    p.push(0xbf, ...le32(cb(1)), 0xbe, ...le32(cb(2)), 0xba, ...le32(cb(3)));
    p.push(0xb8, ...le32(4), 0x0f, 0x05);
  }
  if (k.user) {
    // mmuext_op(&op, 1, NULL, DOMID_SELF)
    p.push(0xbf, ...le32(DATA + 8), 0xbe, ...le32(1), 0x31, 0xd2);
    p.push(0x41, 0xba, ...le32(0x7ff0), 0xb8, ...le32(26), 0x0f, 0x05);
  }
  for (let r = 0; r < 16; r++) {
    if (r === 4) continue;
    const [lo, hi] = k.regs[r];
    p.push(0x48 | (r >= 8 ? 1 : 0), 0xb8 + (r & 7), ...le32(lo), ...le32(hi)); // movabs
  }
  p.push(0xe9, ...le32((CODE - (BASE + p.length + 5)) >>> 0));
  img.set(p, 0);
  return { bytes: img, codeLen: code.length };
}

const kernel: fc.Arbitrary<Kernel> = fc.record({
  code: fc.array(chunk, { minLength: 1, maxLength: 24 }),
  regs: fc.array(reg, { minLength: 16, maxLength: 16 }) as fc.Arbitrary<[number, number][]>,
  traps: fc.integer({ min: 0, max: 2 }),
  iopl: fc.boolean(),
  callbacks: fc.boolean(),
  user: fc.boolean(),
  handlerAt: fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
  scratchSeed: fc.nat(),
});

Deno.test("random 64-bit guest-kernel code never makes pvx throw", async () => {
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(kernel, async (k) => {
      const { bytes } = build(k);
      const image = kernel64(bytes);
      image.hypercallPage = BigInt(HYPERCALL_PAGE);
      const m = new Machine({
        image,
        memoryMiB: 4,
        vcpus: 2,
        maxInstructions: 10_000,
        sliceInstructions: 2_500,
      });
      // the user L4 the prologue installs: the kernel's own (Xen allows the same root)
      const d = m.domain, v = d.vcpus[0];
      const mfn = new Uint8Array(le32(d.mm.baseMfn[0]));
      assert.ok(v.access.copyToGuest(DATA + 16, mfn));
      // a second domain whose frames must not change
      const victim = new Domain(m.host, 7, 16);
      const mfns: number[] = [];
      for (let pfn = 0; pfn < 16; pfn++) {
        victim.populate(pfn);
        mfns.push(victim.mfnOf(pfn));
        m.host.mem.u8.fill(0xa5 ^ pfn, mfns[pfn] * 4096, mfns[pfn] * 4096 + 4096);
      }
      const r = await m.run();
      for (let pfn = 0; pfn < 16; pfn++) {
        const mfn = mfns[pfn];
        assert.ok(m.host.frames.isOwnedBy(mfn, 7), `victim frame ${mfn} lost`);
        const page = m.host.mem.u8.subarray(mfn * 4096, mfn * 4096 + 4096);
        assert.ok(page.every((b) => b === (0xa5 ^ pfn)), `victim frame ${mfn} changed`);
      }
      const key = r.reason === "crash"
        ? `crash: ${d.crashReason.replace(/0x[0-9a-f]+/g, "N")}`
        : r.reason;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      assert.ok(
        ["crash", "limit", "poweroff", "hung", "reboot", "suspend", "watchdog", "soft_reset"]
          .includes(r.reason),
        r.reason,
      );
    }),
    { numRuns: RUNS, seed: SEED },
  );
  if (Deno.env.get("PVX_FUZZ_VERBOSE")) console.log([...outcomes].sort((a, b) => b[1] - a[1]));
  assert.ok((outcomes.get("limit") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok([...outcomes.keys()].some((k) => k.startsWith("crash")), JSON.stringify([...outcomes]));
});
