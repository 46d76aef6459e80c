/**
 * The decoded-instruction cache: per machine code page, an index from page offset to a
 * decoded record (structure-of-arrays pool). Hot 32-bit forms get a specialised record;
 * everything else is recorded as K_GENERIC and runs through the full interpreter.
 * Pages are dropped when written (PhysMemory.codeFrame / onCodeWrite).
 * @module
 */

import type { PhysMemory } from "./phys_memory.ts";

/** Record kinds. 0 = not decoded. */
export const K_NONE = 0, K_GENERIC = 1;
export const K_ALU_RR = 2, K_ALU_RM = 3, K_ALU_MR = 4, K_ALU_RI = 5, K_ALU_MI = 6;
export const K_MOV_RR = 7, K_MOV_RM = 8, K_MOV_MR = 9, K_MOV_RI = 10, K_MOV_MI = 11;
export const K_LEA = 12, K_INC = 13, K_DEC = 14, K_PUSH_R = 15, K_POP_R = 16, K_PUSH_I = 17;
export const K_CALL = 18, K_RET = 19, K_JMP = 20, K_JCC = 21, K_SHIFT_RI = 22;
export const K_MOVX_RM = 23, K_MOVX_RR = 24, K_IMUL_RM = 25, K_IMUL_RRI = 26;
export const K_CMOV = 27, K_SETCC = 28, K_NOP = 29, K_MOV8_RM = 30, K_MOV8_MR = 31;
export const K_ALU8_MI = 32, K_TEST_RI = 33, K_ALU8_RR = 34, K_JMP_R = 35, K_CALL_R = 36;
export const K_XCHG_R = 37, K_CDQ = 38, K_ALU_AI = 39, K_INC_M = 40, K_DEC_M = 41;
/** Block terminator: the run loop looks the next EIP up again (nothing retires). */
export const K_END = 42;
export const K_MOV8_MI = 43, K_ALU8_RI = 44;
/** Longest decoded block. */
export const BLOCK_MAX = 64;

/** ALU op numbers used in records (0..7 as the ALU group, 8 = test). */
export const OP_TEST = 8;

const CAP = 1 << 18;

/** Decoded records and the per-page offset indexes. */
export class DecodedCache {
  /** Record kind (K_*). */
  readonly kind: Uint8Array = new Uint8Array(CAP);
  /** Instruction length. */
  readonly len: Uint8Array = new Uint8Array(CAP);
  /** Operation / condition / destination register, per kind. */
  readonly a: Int32Array = new Int32Array(CAP);
  /** Register operand or packed effective address (base | index<<4 | scale<<8 | seg<<12). */
  readonly b: Int32Array = new Int32Array(CAP);
  /** Displacement. */
  readonly d: Int32Array = new Int32Array(CAP);
  /** Immediate / relative target / second register. */
  readonly i: Int32Array = new Int32Array(CAP);
  /** Per machine frame: offset -> record index, or null. */
  readonly pages: (Int32Array | null)[];
  /** The next free record. */
  next = 1;
  private readonly mem: PhysMemory;
  /** Called whenever page indexes are dropped (the CPU forgets its current page). */
  onDrop: () => void = () => {};

  /** An empty cache over `mem` (its codeFrame bits mark the frames holding records). */
  constructor(mem: PhysMemory) {
    this.mem = mem;
    this.pages = new Array(mem.frames).fill(null);
  }

  /** The offset index of machine frame `mfn`, created (and the frame marked as code). */
  page(mfn: number): Int32Array {
    let p = this.pages[mfn];
    if (p === null) {
      p = new Int32Array(4096);
      this.pages[mfn] = p;
      this.mem.codeFrame[mfn] = 1;
    }
    return p;
  }

  /** Allocates a record; when the pool is full everything is dropped first. */
  alloc(): number {
    if (this.next >= CAP) this.dropAll();
    return this.next++;
  }

  /** Makes room for a block of contiguous records (dropping everything when full). */
  reserveBlock(): void {
    if (this.next + BLOCK_MAX + 2 >= CAP) this.dropAll();
  }

  /** Drops one frame's records (its page was written). */
  dropPage(mfn: number): void {
    if (this.pages[mfn] !== null) {
      this.pages[mfn] = null;
      this.onDrop();
    }
  }

  /**
   * Drops every page. The frames keep their codeFrame bit (other CPUs over the same memory
   * may hold code from them); the next write clears it.
   */
  dropAll(): void {
    this.pages.fill(null);
    this.next = 1;
    this.onDrop();
  }
}
