/**
 * Random 32-bit programs for the block compiler's lockstep tests: straight-line integer
 * instructions of the forms the compiler handles (and a few it does not), forward
 * conditional branches, a call to a subroutine, an outer loop, optional self-modifying
 * stores into later instructions and an optional faulting load at a chosen position.
 * @module
 */

/** A tiny deterministic PRNG (xorshift32). */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
}

/** Where a program lives. */
export const CODE = 0x1000, DATA = 0x3000, SUB = 0x2f00;
/** An address past the end of memory: loads from it raise #PF. */
export const BAD = 0x7ff00000;

/** Destination registers: eax, ecx, edx, esi, edi (ebx = data, ebp = loop, esp = stack). */
const DST = [0, 1, 2, 6, 7];
const ANY = [0, 1, 2, 3, 5, 6, 7];
/** 8-bit registers whose 32-bit register is a destination: al cl dl ah ch dh. */
const DST8 = [0, 1, 2, 4, 5, 6];

function le32(v: number): number[] {
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
}

/** [ebx + disp8] */
function memOp(r: Rng, reg: number): number[] {
  return [0x43 | (reg << 3), r.int(120)];
}

/** One random instruction (bytes). */
export function randomInsn(r: Rng): number[] {
  const d = r.pick(DST), s = r.pick(ANY), alu = r.int(8);
  switch (r.int(32)) {
    case 0:
      return [(alu << 3) | 1, 0xc0 | (s << 3) | d];
    case 1:
      return [(alu << 3) | 3, 0xc0 | (d << 3) | s];
    case 2:
      return [(alu << 3) | 3, ...memOp(r, d)];
    case 3:
      return [(alu << 3) | 1, ...memOp(r, s)];
    case 4:
      return [0x83, 0xc0 | (alu << 3) | d, r.int(256)];
    case 5:
      return [0x81, 0xc0 | (alu << 3) | d, ...le32(r.next())];
    case 6:
      return [0x83, 0x43 | (alu << 3), r.int(120), r.int(256)];
    case 7:
      return [(alu << 3) | 5, ...le32(r.next())];
    case 8:
      return [(alu << 3) | 0, 0xc0 | (r.pick(DST8) << 3) | r.pick(DST8)];
    case 9:
      return [(alu << 3) | 2, 0xc0 | (r.pick(DST8) << 3) | r.pick(DST8)];
    case 10:
      return [0x80, 0xc0 | (alu << 3) | r.pick(DST8), r.int(256)];
    case 11:
      return [0x80, 0x43 | (alu << 3), r.int(120), r.int(256)];
    case 12:
      return [r.pick([0x40, 0x48]) + d];
    case 13:
      return [0xff, 0x43 | (r.int(2) << 3), r.int(120)];
    case 14:
      return [0x85, 0xc0 | (s << 3) | d];
    case 15:
      return r.int(2) ? [0xa9, ...le32(r.next())] : [0xf7, 0xc0 | d, ...le32(r.next())];
    case 16:
      return r.int(2) ? [0x89, 0xc0 | (s << 3) | d] : [0xb8 + d, ...le32(r.next())];
    case 17:
      return r.int(2) ? [0x8b, ...memOp(r, d)] : [0x89, ...memOp(r, s)];
    case 18:
      return r.int(2)
        ? [0xc7, 0x43, r.int(120), ...le32(r.next())]
        : [0xc6, 0x43, r.int(120), r.int(256)];
    case 19:
      return r.int(2) ? [0x8a, ...memOp(r, r.pick(DST8))] : [0x88, ...memOp(r, r.pick(DST8))];
    case 20:
      // lea d, [ebx + esi*4 + disp8] / [s + disp8]
      return r.int(2)
        ? [0x8d, 0x44 | (d << 3), 0xb3, r.int(256)]
        : [0x8d, 0x40 | (d << 3) | (s === 5 ? 6 : s), r.int(256)];
    case 21: {
      const op = r.pick([0xb6, 0xb7, 0xbe, 0xbf]);
      return r.int(2)
        ? [0x0f, op, 0xc0 | (d << 3) | r.pick(DST8.slice(0, 3))]
        : [0x0f, op, ...memOp(r, d)];
    }
    case 22:
      return r.int(2)
        ? [0x0f, 0xaf, 0xc0 | (d << 3) | s]
        : [0x6b, 0x43 | (d << 3), r.int(120), r.int(256)];
    case 23:
      return r.int(2)
        ? [0x0f, 0x40 + r.int(16), 0xc0 | (d << 3) | s]
        : [0x0f, 0x40 + r.int(16), ...memOp(r, d)];
    case 24:
      return [0x0f, 0x90 + r.int(16), 0xc0 | r.pick(DST8)];
    case 25: {
      const op = r.pick([0, 1, 4, 5, 7, 2, 3]);
      return r.pick([[0xc1, 0xc0 | (op << 3) | d, r.int(40)], [0xd1, 0xc0 | (op << 3) | d], [
        0xd3,
        0xc0 | (op << 3) | d,
      ]]);
    }
    case 26:
      return r.pick([
        [0x90 + d],
        [0x99],
        [0x90],
        [0x66, 0x90],
        [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
        [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
      ]);
    case 27:
      // push then pop into a destination (balanced)
      return r.int(2) ? [0x50 + s, 0x58 + d] : [0x6a, r.int(256), 0x58 + d];
    case 28:
      // not compiled: bswap, neg, not, mul (the region ends before them)
      return r.pick([[0x0f, 0xc8 + d], [0xf7, 0xd8 | d], [0xf7, 0xd0 | d], [0xf7, 0xe0 | s]]);
    case 29: {
      // Forms the compiler reads from the code bytes: string moves/stores (esi/edi into
      // the data page first), std/cld, leave in a frame, moffs moves of eax.
      const si = [0x8d, 0x73, r.int(112)], di = [0x8d, 0x7b, r.int(112)];
      return r.pick([
        [...si, ...di, 0xa4],
        [...si, ...di, 0xa5],
        [...di, 0xaa],
        [...di, 0xab],
        [0xfd],
        [0xfc],
        [0x55, 0x89, 0xe5, 0x83, 0xec, 0x08, 0xc9], // push ebp; mov ebp, esp; sub esp, 8; leave
        [0xa1, ...le32(DATA + r.int(120))],
        [0xa3, ...le32(DATA + r.int(120))],
        // mov dword [ebx + d], SUB; push 7; call [ebx + d]
        [0xc7, 0x43, 100, ...le32(SUB), 0x6a, 0x07, 0xff, 0x53, 100],
      ]);
    }
    case 30:
      // ALU group on AL with imm8 (cmp al, imm8 ...)
      return [(alu << 3) | 4, r.int(256)];
    default:
      return [0x6a, 0x07, 0xe8, 0, 0, 0, 0]; // push 7; call SUB (patched by the assembler)
  }
}

/** The call site of {@link randomInsn}: push 7; call SUB (SUB ends with ret 4). */
function isCall(ins: number[]): boolean {
  return ins.length === 7 && ins[0] === 0x6a && ins[2] === 0xe8;
}

/** An access through edi (= the bad address): a load, a string store or move, a leave. */
function faulting(r: Rng): number[] {
  return r.pick([
    [0x8b, 0x07], // mov eax, [edi]
    [0xaa], // stosb
    [0xab], // stosd
    [0x89, 0xfe, 0xa4], // mov esi, edi; movsb (the load faults)
    [0x8d, 0x73, 0x10, 0xa5], // lea esi, [ebx + 16]; movsd (the store faults)
    [0x89, 0xfd, 0xc9], // mov ebp, edi; leave
    [0xff, 0x17], // call [edi]
  ]);
}

/** Options of {@link randomProgram}. */
export interface ProgramOptions {
  /** Instructions in the loop body. */
  len: number;
  /** Outer loop iterations. */
  loops: number;
  /** Index of a faulting load (mov eax, [edi] with edi = BAD), or -1. */
  faultAt: number;
  /** Self-modifying stores into later instructions. */
  smc: boolean;
  /** The faulting load's address (default {@link BAD}). */
  bad?: number;
}

/** A random program: bytes at CODE, initial registers, and the subroutine at SUB. */
export function randomProgram(r: Rng, o: ProgramOptions): { code: Uint8Array; sub: Uint8Array } {
  const body: number[][] = [];
  for (let i = 0; i < o.len; i++) body.push(i === o.faultAt ? faulting(r) : randomInsn(r));
  // Self-modifying code: "mov [abs32], eax" into the immediate of a "mov edx, imm32".
  let smcStore = -1, smcTarget = -1;
  if (o.smc && o.len >= 2) {
    smcStore = r.int(o.len);
    do smcTarget = r.int(o.len); while (smcTarget === smcStore);
    if (smcStore !== o.faultAt && smcTarget !== o.faultAt) {
      body[smcStore] = [0x89, 0x05, 0, 0, 0, 0];
      body[smcTarget] = [0xba, 0, 0, 0, 0];
    } else smcStore = -1;
  }
  // Forward branches: jcc over the next 1..3 instructions.
  for (let i = 0; i < body.length; i++) {
    if (r.int(8) !== 0 || i === o.faultAt) continue;
    const skip = 1 + r.int(3);
    let dist = 0;
    for (let j = i + 1; j <= i + skip && j < body.length; j++) dist += body[j].length;
    if (dist < 128) body[i] = [...body[i], 0x70 + r.int(16), dist];
  }
  const pre = [
    0xbb,
    ...le32(DATA), // mov ebx, DATA
    0xbd,
    ...le32(o.loops), // mov ebp, loops
  ];
  if (o.faultAt >= 0) pre.push(0xbf, ...le32(o.bad ?? BAD)); // mov edi, BAD
  const top = CODE + pre.length;
  // Assemble: fix calls (rel32 to SUB), then SMC targets.
  const out: number[] = [...pre];
  const starts: number[] = [];
  for (const ins of body) {
    starts.push(CODE + out.length);
    if (isCall(ins)) {
      out.push(0x6a, 0x07);
      const rel = SUB - (CODE + out.length + 5);
      out.push(0xe8, ...le32(rel));
    } else out.push(...ins);
  }
  if (smcStore >= 0) {
    const at = starts[smcStore] - CODE + 2;
    const addr = le32(starts[smcTarget] + 1);
    for (let i = 0; i < 4; i++) out[at + i] = addr[i];
  }
  // Loop end: dec ebp; jnz top
  out.push(0x4d);
  const jnzAt = CODE + out.length;
  out.push(0x0f, 0x85, ...le32(top - (jnzAt + 6)));
  out.push(0xf4); // hlt
  // Subroutine: a few instructions and ret.
  const sub: number[] = [];
  for (let i = 0; i < 3; i++) {
    let ins = randomInsn(r);
    while (isCall(ins)) ins = randomInsn(r);
    sub.push(...ins);
  }
  sub.push(0xc2, 0x04, 0x00); // ret 4
  return { code: Uint8Array.from(out), sub: Uint8Array.from(sub) };
}
