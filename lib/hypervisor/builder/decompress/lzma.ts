/**
 * The LZMA decoder (range coder, literal/match/rep coding) shared by `.lzma` (lzma_alone)
 * and LZMA2 inside `.xz`. Output goes to a {@link BoundedOutput} that is also the dictionary,
 * so distances are checked against the bytes decoded since the last reset. Range and code
 * stay int32 (unsigned compares by xor with 0x80000000) so V8 keeps them as small integers.
 * @module
 */
import { type BoundedOutput, DecompressError } from "./output.ts";

// Probability array layout (one Uint16Array, offsets in entries).
const IS_MATCH = 0; // [state << 4 | posState], 12 * 16
const IS_REP = 192;
const IS_REP_G0 = 204;
const IS_REP_G1 = 216;
const IS_REP_G2 = 228;
const IS_REP0_LONG = 240; // 12 * 16
const POS_SLOT = 432; // 4 length states * 64
const SPEC_POS = 688; // 1 + 128 - 14 entries
const ALIGN = 803; // 16
const LEN = 819; // choice, choice2, low[16][8], mid[16][8], high[256]
const LEN_SIZE = 514;
const REP_LEN = LEN + LEN_SIZE;
const LITERAL = REP_LEN + LEN_SIZE;

const PROB_INIT = 1024;

function corrupt(why: string): never {
  throw new DecompressError(`corrupt lzma data: ${why}`);
}

/** One LZMA decoder: properties, probabilities, state and range coder. */
export class LzmaDecoder {
  lc = 0;
  lp = 0;
  pb = 0;
  probs: Uint16Array = new Uint16Array(LITERAL + 0x300);
  state = 0;
  rep0 = 0;
  rep1 = 0;
  rep2 = 0;
  rep3 = 0;
  private range = 0;
  private code = 0;
  private input: Uint8Array = new Uint8Array(0);
  /** next input byte to read */
  ip = 0;
  private inEnd = 0;

  /**
   * Sets lc/lp/pb from a properties byte ((pb * 5 + lp) * 9 + lc) and resets the state.
   * @param props the properties byte
   * @param lzma2 when true, lc + lp must not exceed 4 (LZMA2's rule)
   */
  setProps(props: number, lzma2: boolean): void {
    if (props >= 9 * 5 * 5) corrupt(`bad properties byte 0x${props.toString(16)}`);
    this.lc = props % 9;
    this.lp = Math.floor(props / 9) % 5;
    this.pb = Math.floor(props / 45);
    if (lzma2 && this.lc + this.lp > 4) corrupt("lc + lp exceeds 4 in LZMA2");
    const size = LITERAL + (0x300 << (this.lc + this.lp));
    if (this.probs.length !== size) this.probs = new Uint16Array(size);
    this.resetState();
  }

  /** Resets probabilities, state and rep distances (not the dictionary). */
  resetState(): void {
    this.probs.fill(PROB_INIT);
    this.state = 0;
    this.rep0 =
      this.rep1 =
      this.rep2 =
      this.rep3 =
        0;
  }

  /**
   * Starts the range decoder on input[start, end).
   * @param input the compressed bytes
   * @param start first byte of the range-coded data
   * @param end end of the data this decoder may read
   */
  initRangeCoder(input: Uint8Array, start: number, end: number): void {
    if (end - start < 5) corrupt("truncated range coder header");
    if (input[start] !== 0) corrupt("range coder does not start with 0");
    this.input = input;
    this.inEnd = end;
    this.code = (input[start + 1] << 24) | (input[start + 2] << 16) | (input[start + 3] << 8) |
      input[start + 4];
    this.range = -1;
    this.ip = start + 5;
    if (this.code === this.range) corrupt("bad range coder start");
  }

  /** True when the range coder ended cleanly (code 0), as encoders leave it. */
  finishedOk(): boolean {
    return this.code === 0;
  }

  private bit(i: number): number {
    const p = this.probs[i];
    const bound = Math.imul(this.range >>> 11, p);
    let r: number;
    if ((this.code ^ 0x80000000) < (bound ^ 0x80000000)) {
      this.range = bound;
      this.probs[i] = p + ((2048 - p) >>> 5);
      r = 0;
    } else {
      this.range = (this.range - bound) | 0;
      this.code = (this.code - bound) | 0;
      this.probs[i] = p - (p >>> 5);
      r = 1;
    }
    if ((this.range >>> 24) === 0) {
      if (this.ip >= this.inEnd) corrupt("truncated data");
      this.range = this.range << 8;
      this.code = (this.code << 8) | this.input[this.ip++];
    }
    return r;
  }

  /** Decodes a `bits`-bit symbol MSB first; range coder state kept in locals (hot path). */
  private tree(base: number, bits: number): number {
    const probs = this.probs, input = this.input, inEnd = this.inEnd;
    let range = this.range, code = this.code, ip = this.ip;
    let m = 1;
    for (let k = 0; k < bits; k++) {
      const i = base + m;
      const p = probs[i];
      const bound = Math.imul(range >>> 11, p);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
        m <<= 1;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >>> 5);
        m = (m << 1) | 1;
      }
      if ((range >>> 24) === 0) {
        if (ip >= inEnd) corrupt("truncated data");
        range <<= 8;
        code = (code << 8) | input[ip++];
      }
    }
    this.range = range;
    this.code = code;
    this.ip = ip;
    return m - (1 << bits);
  }

  /** Decodes a literal after a match: bits follow the match byte until one differs. */
  private matchedLiteral(base: number, matchByte: number): number {
    const probs = this.probs, input = this.input, inEnd = this.inEnd;
    let range = this.range, code = this.code, ip = this.ip;
    let sym = 1;
    let offs = 0x100;
    while (sym < 0x100) {
      matchByte <<= 1;
      const mbit = matchByte & offs;
      const i = base + offs + mbit + sym;
      const p = probs[i];
      const bound = Math.imul(range >>> 11, p);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
        sym <<= 1;
        offs &= ~mbit;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >>> 5);
        sym = (sym << 1) | 1;
        offs &= mbit;
      }
      if ((range >>> 24) === 0) {
        if (ip >= inEnd) corrupt("truncated data");
        range <<= 8;
        code = (code << 8) | input[ip++];
      }
    }
    this.range = range;
    this.code = code;
    this.ip = ip;
    return sym & 0xff;
  }

  private reverseTree(base: number, bits: number): number {
    let m = 1, sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }

  private direct(bits: number): number {
    let v = 0;
    for (let i = 0; i < bits; i++) {
      this.range = this.range >>> 1;
      let b = 0;
      if ((this.code ^ 0x80000000) >= (this.range ^ 0x80000000)) {
        this.code = (this.code - this.range) | 0;
        b = 1;
      }
      v = v * 2 + b;
      if ((this.range >>> 24) === 0) {
        if (this.ip >= this.inEnd) corrupt("truncated data");
        this.range = this.range << 8;
        this.code = (this.code << 8) | this.input[this.ip++];
      }
    }
    return v;
  }

  private len(base: number, posState: number): number {
    if (this.bit(base) === 0) return this.tree(base + 2 + posState * 8, 3);
    if (this.bit(base + 1) === 0) return 8 + this.tree(base + 2 + 128 + posState * 8, 3);
    return 16 + this.tree(base + 2 + 256, 8);
  }

  private distance(len: number): number {
    const lenState = len < 4 ? len : 3;
    const slot = this.tree(POS_SLOT + lenState * 64, 6);
    if (slot < 4) return slot;
    const nd = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** nd;
    if (slot < 14) {
      dist += this.reverseTree(SPEC_POS + dist - slot, nd);
    } else {
      dist += this.direct(nd - 4) * 16;
      dist += this.reverseTree(ALIGN, 4);
    }
    return dist;
  }

  /**
   * Decodes symbols until `out.length` reaches `outEnd` or an end marker is read.
   * @param out the output, which is also the dictionary
   * @param dictStart output index where the dictionary starts (last reset)
   * @param outEnd output length to stop at
   * @param endMarkerAllowed whether an end-of-stream marker may appear
   * @returns true when the end marker was read
   */
  decode(
    out: BoundedOutput,
    dictStart: number,
    outEnd: number,
    endMarkerAllowed: boolean,
  ): boolean {
    const pbMask = (1 << this.pb) - 1;
    const lpMask = (1 << this.lp) - 1;
    const lc = this.lc;
    let state = this.state;
    try {
      while (out.length < outEnd) {
        const pos = out.length - dictStart;
        const posState = pos & pbMask;
        if (this.bit(IS_MATCH + (state << 4) + posState) === 0) {
          const prev = pos > 0 ? out.buf[out.length - 1] : 0;
          const base = LITERAL + 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
          let sym: number;
          if (state >= 7) {
            if (this.rep0 >= pos) corrupt("match byte before the dictionary");
            sym = this.matchedLiteral(base, out.buf[out.length - this.rep0 - 1]);
          } else {
            sym = this.tree(base, 8);
          }
          out.byte(sym);
          state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
          continue;
        }
        let len: number;
        if (this.bit(IS_REP + state) === 0) {
          this.rep3 = this.rep2;
          this.rep2 = this.rep1;
          this.rep1 = this.rep0;
          len = this.len(LEN, posState);
          state = state < 7 ? 7 : 10;
          this.rep0 = this.distance(len);
          if (this.rep0 === 0xffffffff) {
            if (!endMarkerAllowed) corrupt("unexpected end marker");
            return true;
          }
        } else {
          if (pos === 0) corrupt("repeated match at the start of the dictionary");
          if (this.bit(IS_REP_G0 + state) === 0) {
            if (this.bit(IS_REP0_LONG + (state << 4) + posState) === 0) {
              if (this.rep0 >= pos) corrupt("distance before the dictionary");
              state = state < 7 ? 9 : 11;
              out.byte(out.buf[out.length - this.rep0 - 1]);
              continue;
            }
          } else {
            let dist: number;
            if (this.bit(IS_REP_G1 + state) === 0) {
              dist = this.rep1;
            } else {
              if (this.bit(IS_REP_G2 + state) === 0) {
                dist = this.rep2;
              } else {
                dist = this.rep3;
                this.rep3 = this.rep2;
              }
              this.rep2 = this.rep1;
            }
            this.rep1 = this.rep0;
            this.rep0 = dist;
          }
          len = this.len(REP_LEN, posState);
          state = state < 7 ? 8 : 11;
        }
        len += 2;
        const dist = this.rep0;
        if (dist >= pos) corrupt(`distance ${dist + 1} reaches before the dictionary`);
        if (out.length + len > outEnd) corrupt("match runs past the end of the data");
        out.reserve(len);
        const buf = out.buf;
        let op = out.length;
        let from = op - dist - 1;
        if (len >= 32 && dist + 1 >= len) {
          buf.copyWithin(op, from, from + len); // no overlap: one native copy
          op += len;
        } else {
          for (let i = 0; i < len; i++) buf[op++] = buf[from++];
        }
        out.length = op;
      }
    } finally {
      this.state = state;
    }
    return false;
  }
}
