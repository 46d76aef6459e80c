/**
 * Lazy arithmetic flags: the hot ALU operations record operands, result and size, and
 * CF/PF/AF/ZF/SF/OF are computed only when read; everything else sets EFLAGS eagerly.
 * @module
 */

/** EFLAGS bits. */
export const F_CF = 0x1, F_PF = 0x4, F_AF = 0x10, F_ZF = 0x40, F_SF = 0x80;
export const F_TF = 0x100, F_IF = 0x200, F_DF = 0x400, F_OF = 0x800;
export const F_IOPL = 0x3000, F_NT = 0x4000, F_RF = 0x10000, F_VM = 0x20000;
export const F_AC = 0x40000, F_VIF = 0x80000, F_VIP = 0x100000, F_ID = 0x200000;
/** The six arithmetic status flags. */
export const F_ARITH = 0x8d5;

/** Indexes into {@link LazyFlags.lf}. */
export const LF_A = 0, LF_B = 1, LF_RES = 2;

/** Lazy-flag operations. NONE: all flags are in `flags`. */
export const LF_NONE = 0, LF_ADD = 1, LF_SUB = 2, LF_LOGIC = 3, LF_INC = 4, LF_DEC = 5;

/** The state the lazy-flag functions read (the Cpu). */
export interface LazyFlags {
  /** EFLAGS; the arithmetic bits are stale while lfOp !== LF_NONE (CF stays valid for INC/DEC). */
  flags: number;
  /** The last flag-setting lazy operation (LF_*). */
  lfOp: number;
  /**
   * First operand, second operand and unmasked result ([LF_A], [LF_B], [LF_RES]); a typed
   * array so that storing int32 values never allocates.
   */
  readonly lf: Int32Array;
  /** Operand size in bits: 8, 16 or 32. */
  lfSz: number;
}

/** Parity flag per byte value (F_PF or 0). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i, p = 1;
  while (b) {
    p ^= b & 1;
    b >>= 1;
  }
  PARITY[i] = p ? F_PF : 0;
}

function mask(sz: number): number {
  return sz === 32 ? -1 : (1 << sz) - 1;
}

/** CF as 0/1. */
export function getCF(c: LazyFlags): number {
  switch (c.lfOp) {
    case 1: { // LF_ADD
      const m = mask(c.lfSz);
      return ((c.lf[LF_RES] & m) >>> 0) < ((c.lf[LF_A] & m) >>> 0) ? 1 : 0;
    }
    case 2: { // LF_SUB
      const m = mask(c.lfSz);
      return ((c.lf[LF_A] & m) >>> 0) < ((c.lf[LF_B] & m) >>> 0) ? 1 : 0;
    }
    case 3: // LF_LOGIC
      return 0;
    default:
      return c.flags & 1;
  }
}

/** ZF as 0/1. */
export function getZF(c: LazyFlags): number {
  if (c.lfOp === LF_NONE) return (c.flags >> 6) & 1;
  return (c.lf[LF_RES] & mask(c.lfSz)) === 0 ? 1 : 0;
}

/** SF as 0/1. */
export function getSF(c: LazyFlags): number {
  if (c.lfOp === LF_NONE) return (c.flags >> 7) & 1;
  return (c.lf[LF_RES] >> (c.lfSz - 1)) & 1;
}

/** OF as 0/1. */
export function getOF(c: LazyFlags): number {
  const s = c.lfSz - 1;
  switch (c.lfOp) {
    case 1: // LF_ADD
    case 4: // LF_INC
      return (((c.lf[LF_A] ^ c.lf[LF_RES]) & (c.lf[LF_B] ^ c.lf[LF_RES])) >> s) & 1;
    case 2: // LF_SUB
    case 5: // LF_DEC
      return (((c.lf[LF_A] ^ c.lf[LF_B]) & (c.lf[LF_A] ^ c.lf[LF_RES])) >> s) & 1;
    case 3: // LF_LOGIC
      return 0;
    default:
      return (c.flags >> 11) & 1;
  }
}

/** PF as 0/1. */
export function getPF(c: LazyFlags): number {
  if (c.lfOp === LF_NONE) return (c.flags >> 2) & 1;
  return PARITY[c.lf[LF_RES] & 0xff] >> 2;
}

/** AF as 0/1. */
export function getAF(c: LazyFlags): number {
  if (c.lfOp === LF_NONE) return (c.flags >> 4) & 1;
  if (c.lfOp === LF_LOGIC) return 0;
  return ((c.lf[LF_A] ^ c.lf[LF_B] ^ c.lf[LF_RES]) >> 4) & 1;
}

/** Materialises the lazy flags into `c.flags` and returns it. */
export function materialize(c: LazyFlags): number {
  const op = c.lfOp;
  if (op === LF_NONE) return c.flags;
  // All six at once (one pass over the operands; same rules as the getters above).
  const lf = c.lf;
  const a = lf[0], b = lf[1], r = lf[2];
  const sz = c.lfSz, sh = sz - 1;
  const m = mask(sz);
  let cf = 0, of = 0, af = 0;
  switch (op) {
    case 1: // LF_ADD
      cf = ((r & m) >>> 0) < ((a & m) >>> 0) ? 1 : 0;
      of = (((a ^ r) & (b ^ r)) >> sh) & 1;
      af = (a ^ b ^ r) & F_AF;
      break;
    case 2: // LF_SUB
      cf = ((a & m) >>> 0) < ((b & m) >>> 0) ? 1 : 0;
      of = (((a ^ b) & (a ^ r)) >> sh) & 1;
      af = (a ^ b ^ r) & F_AF;
      break;
    case 4: // LF_INC
      cf = c.flags & 1;
      of = (((a ^ r) & (b ^ r)) >> sh) & 1;
      af = (a ^ b ^ r) & F_AF;
      break;
    case 5: // LF_DEC
      cf = c.flags & 1;
      of = (((a ^ b) & (a ^ r)) >> sh) & 1;
      af = (a ^ b ^ r) & F_AF;
      break;
  }
  const f = (c.flags & ~F_ARITH) | cf | PARITY[r & 0xff] | af | ((r & m) === 0 ? F_ZF : 0) |
    (((r >> sh) & 1) << 7) | (of << 11);
  c.flags = f;
  c.lfOp = LF_NONE;
  return f;
}

/**
 * Sets the six arithmetic flags eagerly.
 * @param bits the new values of the F_ARITH bits (others ignored)
 */
export function setArith(c: LazyFlags, bits: number): void {
  c.flags = (c.flags & ~F_ARITH) | (bits & F_ARITH);
  c.lfOp = LF_NONE;
}

/** ZF, SF and PF bits of a result of `sz` bits, as EFLAGS bits. */
export function szp(res: number, sz: number): number {
  const m = mask(sz);
  return ((res & m) === 0 ? F_ZF : 0) | (((res >> (sz - 1)) & 1) << 7) | PARITY[res & 0xff];
}

/**
 * Evaluates condition code `cc` (0..15, the low nibble of Jcc/SETcc/CMOVcc).
 * @returns true when the condition holds
 */
export function testCC(c: LazyFlags, cc: number): boolean {
  const op = c.lfOp;
  if ((cc & 14) === 4 && op !== LF_NONE) {
    // je/jne after any lazy operation: ZF straight from the result.
    return ((c.lf[LF_RES] & mask(c.lfSz)) === 0) !== ((cc & 1) !== 0);
  }
  if (op === LF_LOGIC) {
    // and/or/xor/test: CF = OF = 0.
    const sz = c.lfSz, res = c.lf[LF_RES];
    switch (cc) {
      case 0:
      case 2:
        return false;
      case 1:
      case 3:
        return true;
      case 8:
      case 12:
        return ((res >> (sz - 1)) & 1) !== 0;
      case 9:
      case 13:
        return ((res >> (sz - 1)) & 1) === 0;
    }
  }
  if (op === LF_SUB) {
    // cmp/sub fast path: derive the condition from the operands directly.
    const sz = c.lfSz, sh = 32 - sz;
    const m = mask(sz);
    const a = c.lf[LF_A], b = c.lf[LF_B];
    switch (cc) {
      case 2:
        return ((a & m) >>> 0) < ((b & m) >>> 0);
      case 3:
        return ((a & m) >>> 0) >= ((b & m) >>> 0);
      case 4:
        return (c.lf[LF_RES] & m) === 0;
      case 5:
        return (c.lf[LF_RES] & m) !== 0;
      case 6:
        return ((a & m) >>> 0) <= ((b & m) >>> 0);
      case 7:
        return ((a & m) >>> 0) > ((b & m) >>> 0);
      case 12:
        return (a << sh) < (b << sh);
      case 13:
        return (a << sh) >= (b << sh);
      case 14:
        return (a << sh) <= (b << sh);
      case 15:
        return (a << sh) > (b << sh);
    }
  }
  let r: number;
  switch (cc >> 1) {
    case 0:
      r = getOF(c);
      break;
    case 1:
      r = getCF(c);
      break;
    case 2:
      r = getZF(c);
      break;
    case 3:
      r = getCF(c) | getZF(c);
      break;
    case 4:
      r = getSF(c);
      break;
    case 5:
      r = getPF(c);
      break;
    case 6:
      r = getSF(c) ^ getOF(c);
      break;
    default:
      r = (getSF(c) ^ getOF(c)) | getZF(c);
      break;
  }
  return (r ^ (cc & 1)) !== 0;
}

/** Bits of EFLAGS that exist on this CPU (everything else reads as 0; bit 1 reads as 1). */
export const EFLAGS_MASK = 0x3f7fd5;

/** The architectural EFLAGS of `c`. */
export function getEflagsOf(c: LazyFlags): number {
  return (materialize(c) & EFLAGS_MASK) | 2;
}

/** Sets EFLAGS without privilege checks. */
export function setEflagsOf(c: LazyFlags, v: number): void {
  c.flags = (v & EFLAGS_MASK) | 2;
  c.lfOp = LF_NONE;
}
