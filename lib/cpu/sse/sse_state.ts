/**
 * SSE/SSE2 register state: xmm0-15 in one ArrayBuffer with typed views per lane width,
 * two scratch registers (memory operand, result), and MXCSR. 32-bit code addresses only
 * xmm0-7; xmm8-15 are reached through REX.R/REX.B in 64-bit mode.
 * @module
 */

/** Index of the scratch register that holds a memory source operand. */
export const XMM_MEM = 16;
/** Index of the scratch register results are built in before write-back. */
export const XMM_TMP = 17;

/** MXCSR reset value: all exceptions masked, round to nearest. */
export const MXCSR_DEFAULT = 0x1f80;
/**
 * MXCSR bits a guest may set; others give #GP on ldmxcsr/fxrstor. As the host of the
 * differential vectors (AMD): DAZ (bit 6) and MM (bit 17, misaligned-SSE mode).
 */
export const MXCSR_MASK = 0x2ffff;
/** MXCSR.MM: misaligned 16-byte SSE operands do not fault (AMD misaligned-SSE mode). */
export const MXCSR_MM = 0x20000;

/** The SSE state of one vcpu. */
export class SseState {
  /** xmm0-15, then the two scratch registers: 16 bytes each. */
  readonly buffer: ArrayBuffer = new ArrayBuffer(288);
  /** Byte lanes. */
  readonly u8: Uint8Array = new Uint8Array(this.buffer);
  /** Signed byte lanes. */
  readonly i8: Int8Array = new Int8Array(this.buffer);
  /** Word lanes. */
  readonly u16: Uint16Array = new Uint16Array(this.buffer);
  /** Signed word lanes. */
  readonly i16: Int16Array = new Int16Array(this.buffer);
  /** Dword lanes. */
  readonly i32: Int32Array = new Int32Array(this.buffer);
  /** Unsigned dword lanes. */
  readonly u32: Uint32Array = new Uint32Array(this.buffer);
  /** Single-precision lanes (read only non-NaN values through this view). */
  readonly f32: Float32Array = new Float32Array(this.buffer);
  /** Double-precision lanes (read only non-NaN values through this view). */
  readonly f64: Float64Array = new Float64Array(this.buffer);
  /** MXCSR. */
  mxcsr: number = MXCSR_DEFAULT;

  /** Resets as at power-on (registers zero, MXCSR default). */
  reset(): void {
    this.u8.fill(0);
    this.mxcsr = MXCSR_DEFAULT;
  }

  /** Rounding control (MXCSR bits 13-14). */
  get rc(): number {
    return (this.mxcsr >> 13) & 3;
  }

  /** Copies register `src` (0..17) into `dst`. */
  copy(dst: number, src: number): void {
    const d = dst * 4, s = src * 4, r = this.i32;
    r[d] = r[s];
    r[d + 1] = r[s + 1];
    r[d + 2] = r[s + 2];
    r[d + 3] = r[s + 3];
  }
}
