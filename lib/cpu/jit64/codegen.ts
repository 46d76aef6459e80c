/**
 * JavaScript source for a 64-bit region (region.ts): guest registers in locals, one
 * `switch` case per block inside a loop (branches between the region's blocks, and returns
 * to them, stay in the function), inline TLB hits for memory operands, and the arithmetic
 * flags of the last producer kept as its operands (flags_gen.ts) and stored in `fl` only
 * where they are live (region.ts's liveness: a reader in another block, a slow path that
 * may fault, an exit).
 *
 * Exactness: before a block starts, the budget (`end`) is checked for all of its
 * instructions; a fault rolls back to the faulting instruction (emitter.ts); a store that
 * drops the page's decoded index (self-modifying code) leaves the region after that
 * instruction; RIP, RFLAGS and `retired` are written on every way out.
 * @module
 */
import {
  A_ADC,
  A_ADD,
  A_AND,
  A_CMP,
  A_OR,
  A_SBB,
  A_SUB,
  A_TEST,
  A_XOR,
  I_ALU_MI,
  I_ALU_MR,
  I_ALU_RM,
  I_CALL,
  I_CALL_M,
  I_CDQE,
  I_CMOV,
  I_CQO,
  I_IMUL,
  I_INCDEC,
  I_JCC,
  I_JMP,
  I_LEA,
  I_MOV_MI,
  I_MOV_MR,
  I_MOV_RI,
  I_MOV_RM,
  I_MOVX,
  I_NOP,
  I_NOTNEG,
  I_POP,
  I_PUSH,
  I_PUSH_I,
  I_RET,
  I_SETCC,
  I_SHIFT,
  I_XCHG,
  type Insn,
} from "./decode.ts";
import { P_ADC, P_ADD, P_DEC, P_INC, P_LOGIC, P_SBB, P_SUB } from "./flags_gen.ts";
import { type Block, defs, liveness, liveOut, successors, uses } from "./region.ts";
import { Emitter, pagePlus } from "./emitter.ts";
import { TLB64_TABLE } from "../tlb64.ts";

/** A generated region: its source and the tables the code and its catch use. */
export interface RegionSource {
  /** The body of `function (c, end)`. */
  body: string;
  /** Block label of each page offset that starts a block, else -1. */
  idx: Int16Array;
  /** Instructions per block. */
  cnt: Int32Array;
  /** Page offset of each instruction index `k`. */
  off: Int32Array;
  /** Position of instruction `k` inside its block. */
  pos: Int32Array;
  /** Instructions compiled. */
  insns: number;
}

/** Generates the region of `blocks` (the first is the entry). */
export function generate(blocks: Block[]): RegionSource {
  return new Gen(blocks).region();
}

const CANON_BAD = (h: string) => `(((${h} >> 15) + 1) >>> 1) !== 0`;

class Gen extends Emitter {
  private readonly labels = new Map<number, number>();
  private readonly offs: number[] = [];
  private readonly poss: number[] = [];
  /** The current block's instruction count and label. */
  private cnt = 0;
  private label = 0;

  constructor(private readonly blocks: Block[]) {
    super();
    blocks.forEach((b, i) => this.labels.set(b.start, i));
    liveness(blocks, this.labels);
  }

  region(): RegionSource {
    const cases: string[] = [];
    this.blocks.forEach((b, i) => cases.push(this.block(b, i)));
    const regs = [...this.used].sort((a, b) => a - b);
    const load = regs.map((r) =>
      `l${r} = ${r < 8 ? `rg[${r}]` : `rx[${r - 8}]`}, h${r} = rh[${r}]`
    );
    const wb = [...this.written].sort((a, b) => a - b)
      .map((r) => `${r < 8 ? `rg[${r}]` : `rx[${r - 8}]`} = l${r}; rh[${r}] = h${r};`).join(" ");
    const head = [
      "const e = c.tlb64.e, u8 = c.u8, dv = c.dv, rg = c.regs, rx = c.lm.rlo, rh = c.lm.hi;",
      `const rb = c.cpl === 3 ? ${TLB64_TABLE} : 0, wb = rb + ${2 * TLB64_TABLE};`,
      "const bLo = c.eip & -4096, bHi = c.lm.ripHi;",
      ...[...this.segs].map((g) =>
        `const sb${g} = c.lm.msr[${g * 2}], sh${g} = c.lm.msr[${g * 2 + 1}];`
      ),
      regs.length > 0 ? `let ${load.join(", ")};` : "",
      "let fl = c.flags, pk = 0, fa0 = 0, fa1 = 0, fb0 = 0, fb1 = 0, fr0 = 0, fr1 = 0, fc = 0;",
      "let n = c.retired, k = 0, pc = 0, xl = 0, xh = 0, dirty = false;",
      "const n0 = n;",
      "if (n + CNT[0] > end) return 0;",
    ];
    const body = [
      ...head,
      "try {",
      "loop: for (;;) {",
      "switch (pc) {",
      ...cases,
      "}",
      "}",
      "} catch (ex) {",
      wb,
      "c.flags = fl; c.eip = (bLo + OFF[k]) | 0; c.lm.ripHi = bHi; c.retired = n + POS[k];",
      "throw ex;",
      "}",
      wb,
      "c.flags = fl; c.eip = xl; c.lm.ripHi = xh; c.retired = n;",
      "return n - n0;",
    ].join("\n");
    const idx = new Int16Array(4096).fill(-1);
    for (const [off, l] of this.labels) idx[off] = l;
    return {
      body,
      idx,
      cnt: Int32Array.from(this.blocks.map((b) => b.insns.length)),
      off: Int32Array.from(this.offs),
      pos: Int32Array.from(this.poss),
      insns: this.offs.length,
    };
  }

  // ---- blocks and edges ----------------------------------------------------------------

  private block(b: Block, label: number): string {
    this.out = [];
    this.carried();
    this.cnt = b.insns.length;
    this.label = label;
    // Flags live after each instruction.
    const s = successors(b, this.labels);
    const after: number[] = new Array(this.cnt);
    let live = liveOut(this.blocks, this.labels, s);
    for (let j = this.cnt - 1; j >= 0; j--) {
      after[j] = live;
      const i = b.insns[j];
      live = (live & ~defs(i)) | uses(i);
    }
    this.emit(`case ${label}: {`);
    let ended = false;
    for (let j = 0; j < this.cnt && !ended; j++) {
      const i = b.insns[j];
      this.k = this.offs.length;
      this.offs.push(i.off);
      this.poss.push(j);
      this.stores = false;
      this.emit("{");
      ended = this.insn(i, after[j]);
      this.emit("}");
      if (!ended && this.stores) {
        this.emit(`if (dirty) { n += ${j + 1}; ${this.exitCode(i.off + i.len)} }`);
      }
    }
    if (!ended) {
      this.emit(`n += ${this.cnt};`);
      this.edge(b.next);
    }
    this.emit("}");
    return this.out.join("\n");
  }

  /** Leaves the region for page offset `t` (0..4096): flags stored, RIP set. */
  private exitCode(t: number): string {
    const rip = t < 4096
      ? `xl = (bLo + ${t}) | 0; xh = bHi;`
      : `xl = (bLo + ${t}) | 0; xh = xl === 0 ? (bHi + 1) | 0 : bHi;`;
    return `${this.matCode()} ${rip} break loop;`;
  }

  /** Continues at page offset `t` (inside the page or its end): a block or an exit. */
  private edge(t: number, last = true): void {
    const l = this.labels.get(t);
    if (l === undefined) {
      this.emit(this.exitCode(t));
      return;
    }
    const b = this.blocks[l];
    this.emit(`if (n + ${b.insns.length} > end) { ${this.exitCode(t)} }`);
    if (b.liveIn !== 0) this.emit(this.carryCode());
    // The next case: fall into it (no dispatch) when this is the end of the case.
    if (!last || l !== this.label + 1) this.emit(`pc = ${l}; continue loop;`);
  }

  /** Continues at a static target offset of the page, or outside it (#GP if not canonical). */
  private jumpTo(t: number, last = true): void {
    if (t >= 0 && t < 4096) {
      this.emit(`n += ${this.cnt};`);
      this.edge(t, last);
      return;
    }
    this.farTarget(t);
    this.emit(`n += ${this.cnt}; ${this.matCode()} xl = tl; xh = th; break loop;`);
  }

  /** Declares `tl`, `th`: a target outside the page (#GP(0) when not canonical). */
  private farTarget(t: number): void {
    this.emit(`let tl = 0, th = 0; ${pagePlus("tl", "th", t)}`);
    this.emit(`if (${CANON_BAD("th")}) { ${this.mayThrow()} gp(c); }`);
  }

  /** Continues at the dynamic target (tl, th), already checked and retired. */
  private dispatch(): void {
    this.flush();
    this.emit("pk = 0;");
    this.emit("if (!dirty && th === bHi && (tl & -4096) === bLo) {");
    this.emit("const l = IDX[tl & 4095];");
    this.emit("if (l >= 0 && n + CNT[l] <= end) { pc = l; continue loop; } }");
    this.emit("xl = tl; xh = th; break loop;");
  }

  // ---- flags ---------------------------------------------------------------------------

  /**
   * A flag producer committed: operands a, b, result r (sources), carry in `ci` for
   * adc/sbb. Nothing is kept when no flag is live after it.
   */
  private produce(kind: number, size: number, live: number, def: number, ci = ""): void {
    if ((live & ~def) !== 0) this.flush(); // inc/dec keep CF: the earlier producer's
    if (live === 0) {
      this.pend = null;
      return;
    }
    const w = size === 64 ? " fa1 = a1; fb1 = b1; fr1 = r1;" : "";
    this.emit(`fa0 = a0; fb0 = b0; fr0 = r0;${w}${ci !== "" ? ` fc = ${ci};` : ""}`);
    this.pend = { kind, size };
  }

  // ---- operands ------------------------------------------------------------------------

  /** Declares a0, a1 = the r/m operand (reading memory at `al`, `ah`). */
  private readRm(i: Insn, size: number): void {
    if (i.mem) {
      this.addr(i);
      this.load(size >> 3, this.ssOf(i), "a0", "a1");
    } else {
      this.emit(`const a0 = ${this.rget(i.rm, size, i.rex)}, a1 = ${this.rgetHi(i.rm, size)};`);
    }
  }

  /** Writes the sources (vl, vh) to the r/m operand (memory at `al`, `ah`). */
  private writeRm(i: Insn, size: number, vl: string, vh: string): void {
    if (i.mem) this.store(size >> 3, this.ssOf(i), vl, vh);
    else this.rset(i.rm, size, i.rex, vl, vh);
  }

  /** Declares r0, r1 = a op b (ci: carry-in source for adc/sbb). */
  private aluResult(op: number, size: number, ci: string): void {
    if (op === A_AND || op === A_TEST || op === A_OR || op === A_XOR) {
      const o = op === A_OR ? "|" : op === A_XOR ? "^" : "&";
      this.emit(`const r0 = a0 ${o} b0, r1 = ${size === 64 ? `a1 ${o} b1` : "0"};`);
      return;
    }
    const sub = op === A_SUB || op === A_CMP || op === A_SBB;
    const withC = op === A_ADC || op === A_SBB;
    const c = withC ? ` ${sub ? "-" : "+"} ${ci}` : "";
    if (size !== 64) {
      this.emit(`const r0 = (a0 ${sub ? "-" : "+"} b0${c}) | 0, r1 = 0;`);
    } else if (sub) {
      // borrow out of the low half: a < b, or a == b with a borrow in
      const bw = withC
        ? `((a0 >>> 0) < (b0 >>> 0) || (${ci} !== 0 && a0 === b0) ? 1 : 0)`
        : "((a0 >>> 0) < (b0 >>> 0) ? 1 : 0)";
      this.emit(`const r0 = (a0 - b0${c}) | 0, r1 = (a1 - b1 - ${bw}) | 0;`);
    } else {
      // carry out of the low half: r < a, or r == a with a carry in
      const cy = withC
        ? `((r0 >>> 0) < (a0 >>> 0) || (${ci} !== 0 && r0 === a0) ? 1 : 0)`
        : "((r0 >>> 0) < (a0 >>> 0) ? 1 : 0)";
      this.emit(`const r0 = (a0 + b0${c}) | 0;`);
      this.emit(`const r1 = (a1 + b1 + ${cy}) | 0;`);
    }
  }

  /** An ALU instruction: a = first operand, b = second, both declared by the caller. */
  private aluTail(i: Insn, live: number, toRm: boolean): void {
    const op = i.sub, size = i.size;
    const carry = op === A_ADC || op === A_SBB;
    if (carry) this.emit(`const ci = ${this.cf()};`);
    this.aluResult(op, size, "ci");
    if (op !== A_CMP && op !== A_TEST) {
      if (toRm) this.writeRm(i, size, "r0", "r1");
      else this.rset(i.reg, size, i.rex, "r0", "r1");
    }
    const kind = op === A_ADD
      ? P_ADD
      : op === A_ADC
      ? P_ADC
      : op === A_SBB
      ? P_SBB
      : op === A_SUB || op === A_CMP
      ? P_SUB
      : P_LOGIC;
    this.produce(kind, size, live, defs(i), carry ? "ci" : "");
  }

  // ---- instructions --------------------------------------------------------------------

  /** Emits one instruction; returns true when it ended the block (a control transfer). */
  private insn(i: Insn, live: number): boolean {
    const size = i.size;
    switch (i.kind) {
      case I_NOP:
        return false;
      case I_ALU_MR:
        this.readRm(i, size);
        this.emit(`const b0 = ${this.rget(i.reg, size, i.rex)}, b1 = ${this.rgetHi(i.reg, size)};`);
        this.aluTail(i, live, true);
        return false;
      case I_ALU_RM:
        this.readRm(i, size);
        this.emit("const b0 = a0, b1 = a1;");
        this.emit(
          `{ const a0 = ${this.rget(i.reg, size, i.rex)}, a1 = ${this.rgetHi(i.reg, size)};`,
        );
        this.aluTail(i, live, false);
        this.emit("}");
        return false;
      case I_ALU_MI:
        this.readRm(i, size);
        this.emit(`const b0 = ${i.imm}, b1 = ${i.imm >> 31};`);
        this.aluTail(i, live, true);
        return false;
      case I_INCDEC:
        this.readRm(i, size);
        this.emit("const b0 = 1, b1 = 0;");
        this.aluResult(i.sub === 0 ? A_ADD : A_SUB, size, "");
        this.writeRm(i, size, "r0", "r1");
        this.produce(i.sub === 0 ? P_INC : P_DEC, size, live, defs(i));
        return false;
      case I_NOTNEG:
        this.readRm(i, size);
        if (i.sub === 2) {
          this.writeRm(i, size, "~a0", "~a1");
          return false;
        }
        this.emit("const b0 = a0, b1 = a1;");
        this.emit("{ const a0 = 0, a1 = 0;");
        this.aluResult(A_SUB, size, "");
        this.writeRm(i, size, "r0", "r1");
        this.produce(P_SUB, size, live, defs(i));
        this.emit("}");
        return false;
      case I_SHIFT:
        this.shift(i, live);
        return false;
      case I_IMUL:
        this.imul(i, live);
        return false;
      case I_MOV_MR:
        if (i.mem) this.addr(i);
        this.writeRm(i, size, this.rget(i.reg, size, i.rex), this.rgetHi(i.reg, size));
        return false;
      case I_MOV_RM:
        this.readRm(i, size);
        this.rset(i.reg, size, i.rex, "a0", "a1");
        return false;
      case I_MOV_MI:
        if (i.mem) this.addr(i);
        this.writeRm(i, size, String(i.imm), String(i.imm >> 31));
        return false;
      case I_MOV_RI:
        this.rset(i.reg, size, i.rex, String(i.imm), String(i.immHi));
        return false;
      case I_LEA:
        this.addr({ ...i, seg: -1 });
        this.rset(i.reg, size, i.rex, "al", "ah");
        return false;
      case I_MOVX: {
        this.readRm(i, i.sub);
        const v = !i.signed || i.sub === 32
          ? "a0"
          : i.sub === 8
          ? "((a0 << 24) >> 24)"
          : "((a0 << 16) >> 16)";
        this.emit(`const v = ${v};`);
        this.rset(i.reg, size, i.rex, "v", "(v >> 31)");
        return false;
      }
      case I_CMOV:
        this.readRm(i, size);
        this.emit(`if (${this.cond(i.cc)}) {`);
        this.rset(i.reg, size, i.rex, "a0", "a1");
        if (size === 32) {
          this.emit("} else {");
          this.rset(i.reg, 32, i.rex, this.rget(i.reg, 32, i.rex), "0");
        }
        this.emit("}");
        return false;
      case I_SETCC:
        if (i.mem) this.addr(i);
        this.emit(`const v = ${this.cond(i.cc)} ? 1 : 0;`);
        this.writeRm(i, 8, "v", "0");
        return false;
      case I_CDQE:
        this.emit(`const v = ${size === 64 ? "l0" : "(l0 << 16) >> 16"};`);
        this.used.add(0);
        this.rset(0, size, true, "v", "(v >> 31)");
        return false;
      case I_CQO:
        this.used.add(0);
        this.emit(`const v = ${size === 64 ? "h0 >> 31" : "l0 >> 31"};`);
        this.rset(2, size, true, "v", "v");
        return false;
      case I_XCHG:
        this.emit(`const a0 = ${this.rget(i.rm, size, true)}, a1 = ${this.rgetHi(i.rm, size)};`);
        this.emit(`const b0 = ${this.rget(i.reg, size, true)}, b1 = ${this.rgetHi(i.reg, size)};`);
        this.rset(i.rm, size, true, "b0", "b1");
        this.rset(i.reg, size, true, "a0", "a1");
        return false;
      case I_PUSH:
        this.push(this.rget(i.reg, 64, true), this.rgetHi(i.reg, 64));
        return false;
      case I_PUSH_I:
        this.push(String(i.imm), String(i.imm >> 31));
        return false;
      case I_POP:
        this.used.add(4);
        this.emit("let al = l4, ah = h4;");
        this.load(8, true, "a0", "a1");
        this.emit(
          "l4 = (l4 + 8) | 0; h4 = (h4 + ((l4 >>> 0) < 8 ? 1 : 0)) | 0;",
        );
        this.written.add(4);
        this.rset(i.reg, 64, true, "a0", "a1");
        return false;
      default:
        this.branch(i);
        return true;
    }
  }

  /** push of the sources (vl, vh): RSP changes after the store. */
  private push(vl: string, vh: string): void {
    this.used.add(4);
    this.written.add(4);
    this.emit(`const pv0 = ${vl}, pv1 = ${vh};`);
    this.emit("let al = (l4 - 8) | 0, ah = (h4 - ((l4 >>> 0) < 8 ? 1 : 0)) | 0;");
    this.store(8, true, "pv0", "pv1");
    this.emit("l4 = al; h4 = ah;");
  }

  /** imul r, r/m (, imm): CF = OF = the signed product overflowed; other flags kept. */
  private imul(i: Insn, live: number): void {
    const size = i.size;
    this.readRm(i, size);
    if (i.sub === 1) this.emit(`const b0 = ${i.imm}, b1 = ${i.imm >> 31};`);
    else {this.emit(
        `const b0 = ${this.rget(i.reg, size, i.rex)}, b1 = ${this.rgetHi(i.reg, size)};`,
      );}
    if (size === 32) {
      this.emit("const r0 = Math.imul(a0, b0), r1 = 0, ov = a0 * b0 !== r0;");
    } else this.emit("const ov = imul64(a0, a1, b0, b1) !== 0, r0 = IM[0], r1 = IM[1];");
    this.rset(i.reg, size, i.rex, "r0", "r1");
    if ((live & ~0x801) !== 0) this.flush(); // the other flags stay: the earlier producer's
    if (live !== 0) this.emit("fl = (fl & -2050) | (ov ? 2049 : 0);");
    this.pend = null;
  }

  /** shl/shr/sar by a constant count at 32 or 64 bits (flags through shiftFlags). */
  private shift(i: Insn, live: number): void {
    const size = i.size, n = i.imm, op = i.sub;
    this.readRm(i, size);
    if (n === 0) {
      if (size === 32 && !i.mem) this.rset(i.rm, 32, i.rex, "a0", "0");
      return;
    }
    let r0: string, r1: string;
    if (size === 32) {
      r0 = op === 4 ? `a0 << ${n}` : op === 5 ? `(a0 >>> ${n}) | 0` : `a0 >> ${n}`;
      r1 = "0";
    } else if (op === 4) {
      r0 = n < 32 ? `a0 << ${n}` : "0";
      r1 = n < 32 ? `(a1 << ${n}) | (a0 >>> ${32 - n})` : `a0 << ${n - 32}`;
    } else {
      const ar = op === 7;
      r0 = n < 32 ? `(a0 >>> ${n}) | (a1 << ${32 - n})` : `a1 ${ar ? ">>" : ">>>"} ${n - 32}`;
      r1 = n < 32 ? `a1 ${ar ? ">>" : ">>>"} ${n}` : ar ? "a1 >> 31" : "0";
      if (!ar && n >= 32) r0 = `(${r0}) | 0`;
      if (!ar && n < 32) r1 = `(${r1}) | 0`;
    }
    this.emit(`const r0 = ${r0}, r1 = ${r1};`);
    this.writeRm(i, size, "r0", "r1");
    if (live !== 0) this.emit(`fl = shiftFlags(fl, ${op}, ${size}, a0, a1, ${n}, r0, r1);`);
    this.pend = null;
  }

  /** The control transfers: the block ends here. */
  private branch(i: Insn): void {
    const next = i.off + i.len;
    switch (i.kind) {
      case I_JCC:
        this.emit(`if (${this.cond(i.cc)}) {`);
        this.jumpTo(i.target, false);
        this.emit("}");
        this.emit(`n += ${this.cnt};`);
        this.edge(next);
        return;
      case I_JMP:
        this.jumpTo(i.target);
        return;
      case I_CALL: {
        const inPage = i.target >= 0 && i.target < 4096;
        if (!inPage) this.farTarget(i.target);
        this.returnAddress(next);
        this.emit("{");
        this.push("ral", "rah");
        this.emit("}");
        this.emit(`n += ${this.cnt};`);
        if (inPage) {
          this.emit(`if (dirty) { ${this.exitCode(i.target)} }`);
          this.edge(i.target);
        } else this.emit(`${this.matCode()} xl = tl; xh = th; break loop;`);
        return;
      }
      case I_RET:
        this.used.add(4);
        this.written.add(4);
        this.emit("let al = l4, ah = h4;");
        this.load(8, true, "tl", "th");
        this.emit(`if (${CANON_BAD("th")}) { ${this.mayThrow()} gp(c); }`);
        this.emit(
          "l4 = (l4 + 8) | 0; h4 = (h4 + ((l4 >>> 0) < 8 ? 1 : 0)) | 0;",
        );
        this.emit(`n += ${this.cnt};`);
        this.dispatch();
        return;
      default: { // I_JMP_M, I_CALL_M
        this.readRm(i, 64);
        this.emit("const tl = a0, th = a1;");
        this.emit(`if (${CANON_BAD("th")}) { ${this.mayThrow()} gp(c); }`);
        if (i.kind === I_CALL_M) {
          this.returnAddress(next);
          this.emit("{");
          this.push("ral", "rah");
          this.emit("}");
        }
        this.emit(`n += ${this.cnt};`);
        this.dispatch();
      }
    }
  }

  /** Declares ral, rah: the linear address of page offset `t` (the return address). */
  private returnAddress(t: number): void {
    if (t < 4096) this.emit(`const ral = (bLo + ${t}) | 0, rah = bHi;`);
    else this.emit(`const ral = (bLo + ${t}) | 0, rah = ral === 0 ? (bHi + 1) | 0 : bHi;`);
  }
}
