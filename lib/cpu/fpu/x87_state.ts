/**
 * The x87 register file: eight registers (held as doubles), empty tags, TOP, control and
 * status words, last-instruction pointers; stack push/pop with the architectural
 * stack-fault and exception-masking rules.
 * @module
 */

import { DEFAULT_NAN, ieee, isSnanBits64 } from "./ieee.ts";

/** Status-word bits. */
export const SW_IE = 0x1, SW_SF = 0x40, SW_ES = 0x80, SW_C0 = 0x100, SW_C1 = 0x200;
/** C2, C3 and busy. */
export const SW_C2 = 0x400, SW_C3 = 0x4000, SW_B = 0x8000;
/** The condition-code bits together. */
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

/** x87 state of one vcpu. */
export class X87State {
  /** Physical registers R0..R7 (ST(i) is R[(top + i) & 7]). */
  readonly regs: Float64Array = new Float64Array(8);
  /** The same registers as 32-bit halves (lo, hi): NaN bits are copied through these. */
  readonly regBits: Uint32Array = new Uint32Array(this.regs.buffer);
  /** Per physical register: 1 when empty (tag 11). */
  readonly empty: Uint8Array = new Uint8Array(8).fill(1);
  /** Stack top (0..7). */
  top = 0;
  /** Control word (FNINIT value: all exceptions masked, 64-bit precision, nearest). */
  cw = 0x037f;
  /** Status word without the TOP field (bits 11..13 are kept zero here). */
  sw = 0;
  /** Last instruction pointer and code selector (set by the core before x87Execute). */
  fip = 0;
  /** Code selector of the last instruction. */
  fcs = 0;
  /** Last opcode (11 bits: low 3 bits of the first byte, then ModRM). */
  fop = 0;
  /** Last data pointer (linear address of the memory operand). */
  fdp = 0;
  /** Data selector of the last memory operand. */
  fds = 0;
  /** FIP/FCS of the last non-control instruction (the core may preset fip/fcs for all). */
  lastFip = 0;
  /** See {@link lastFip}. */
  lastFcs = 0;
  /** 64-bit mode: bits 63..32 of {@link fip} (set by the core with fip; 0 in 32-bit mode). */
  fipHi = 0;
  /** Bits 63..32 of {@link lastFip}. */
  lastFipHi = 0;
  /** 64-bit mode: bits 63..32 of {@link fdp}. */
  fdpHi = 0;
  /** 64-bit mode: bits 63..32 of the current memory operand's address (set by the core). */
  dataHi = 0;

  /** Resets as FNINIT does. */
  init(): void {
    this.cw = 0x037f;
    this.sw = 0;
    this.top = 0;
    this.empty.fill(1);
    this.fip =
      this.fcs =
      this.fop =
      this.fdp =
      this.fds =
        0;
    this.lastFip = this.lastFcs = 0;
    this.fipHi = this.lastFipHi = this.fdpHi = 0;
  }

  /** The architectural status word (with TOP). */
  get statusWord(): number {
    return (this.sw & ~0x3800) | (this.top << 11);
  }

  /** Sets the status word (TOP included). */
  set statusWord(v: number) {
    this.top = (v >> 11) & 7;
    this.sw = v & 0xc7ff;
  }

  /** Rounding control (CW bits 10-11). */
  get rc(): number {
    return (this.cw >> 10) & 3;
  }

  /** Whether ST(i) is empty. */
  isEmpty(i: number): boolean {
    return this.empty[(this.top + i) & 7] !== 0;
  }

  /** ST(i) (callers check emptiness first). */
  get(i: number): number {
    return this.regs[(this.top + i) & 7];
  }

  /** Whether ST(i) holds a signalling NaN (from its stored bits). */
  isSnan(i: number): number {
    const p = (this.top + i) & 7;
    return isSnanBits64(this.regBits[2 * p + 1], this.regBits[2 * p]) ? 1 : 0;
  }

  /** Makes the NaN in ST(i) signalling (clears its quiet bit). */
  markSnan(i: number): void {
    this.regBits[2 * ((this.top + i) & 7) + 1] &= ~0x80000;
  }

  /** ST(dst) = ST(src) bit for bit, marked valid. */
  copy(dst: number, src: number): void {
    const d = (this.top + dst) & 7, s = (this.top + src) & 7;
    this.regBits[2 * d] = this.regBits[2 * s];
    this.regBits[2 * d + 1] = this.regBits[2 * s + 1];
    this.empty[d] = 0;
  }

  /** Writes ST(i) and marks it valid. */
  set(i: number, v: number): void {
    const p = (this.top + i) & 7;
    this.regs[p] = v;
    this.empty[p] = 0;
  }

  /**
   * Records exception flags raised by an operation. An unmasked one sets ES and B (#MF
   * comes at the next waiting instruction); an unmasked IE, DE or ZE also cancels the
   * write (returns true), while an unmasked PE, OE or UE lets the result be stored (the
   * hardware's exponent-biased OE/UE results are not modelled: the double is stored).
   */
  signal(flags: number): boolean {
    if (flags === 0) return false;
    this.sw |= flags;
    const unmasked = flags & ~this.cw & 0x3f;
    if (unmasked === 0) return false;
    this.sw |= SW_ES | SW_B;
    return (unmasked & 0x07) !== 0;
  }

  /**
   * Stack underflow on reading an empty register: IE|SF, C1 = 0.
   * @returns true when IE is unmasked (the instruction must stop)
   */
  underflow(): boolean {
    this.sw &= ~SW_C1;
    return this.signal(SW_IE | SW_SF);
  }

  /**
   * Pushes a value, with stack-overflow handling (IE|SF, C1 = 1, indefinite if masked).
   * @returns true when `v` itself was pushed
   */
  push(v: number): boolean {
    const t = (this.top - 1) & 7;
    let ok = true;
    if (this.empty[t] === 0) {
      this.sw |= SW_C1;
      if (this.signal(SW_IE | SW_SF)) return false;
      v = DEFAULT_NAN;
      ok = false;
    } else this.sw &= ~SW_C1;
    this.top = t;
    this.regs[t] = v;
    this.empty[t] = 0;
    return ok;
  }

  /** Exchanges ST(0) and ST(i) bit for bit (both become valid). */
  swap(i: number): void {
    const a = this.top, b = (this.top + i) & 7, r = this.regBits;
    const lo = r[2 * a], hi = r[2 * a + 1];
    r[2 * a] = r[2 * b];
    r[2 * a + 1] = r[2 * b + 1];
    r[2 * b] = lo;
    r[2 * b + 1] = hi;
    this.empty[a] = this.empty[b] = 0;
  }

  /** Marks ST(0) empty and increments TOP. */
  pop(): void {
    this.empty[this.top] = 1;
    this.top = (this.top + 1) & 7;
  }

  /**
   * Records the flags of the last ieee operation and C1 (rounded up);
   * @returns true when an unmasked exception stops the write
   */
  takeIeee(): boolean {
    const f = ieee.flags;
    ieee.flags = 0;
    this.sw = (this.sw & ~SW_C1) | (ieee.up && (f & 0x20) !== 0 ? SW_C1 : 0);
    return this.signal(f & 0x3f);
  }

  /** The full 16-bit tag word (00 valid, 01 zero, 10 special, 11 empty) per physical reg. */
  tagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) {
      let t = 3;
      if (this.empty[p] === 0) {
        const v = this.regs[p];
        t = v === 0 ? 1 : v !== v || !isFinite(v) ? 2 : 0;
      }
      tw |= t << (2 * p);
    }
    return tw;
  }

  /** Loads the tag word: only empty versus non-empty is kept. */
  setTagWord(tw: number): void {
    for (let p = 0; p < 8; p++) this.empty[p] = ((tw >> (2 * p)) & 3) === 3 ? 1 : 0;
  }
}
