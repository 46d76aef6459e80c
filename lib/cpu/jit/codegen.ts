/**
 * JavaScript source for a region (region.ts) of decoded records: guest registers in locals,
 * one `switch` case per block inside a loop (branches between blocks of the region stay in
 * the function), inline TLB hits for memory operands, the flags of the last producer kept
 * in locals and stored only where something can observe them (a flag reader that is not
 * compiled inline, a slow path that may fault, the end of a block). Operations without an
 * inline form call the interpreter's own semantic functions (ops/, flags.ts) on the CPU.
 *
 * Precise state: every statement that may throw (slow memory paths, segment and CS-limit
 * checks) first sets `k` to the instruction's index and stores pending flags; the catch
 * writes the registers back and sets EIP / retired to that instruction, exactly what the
 * interpreter leaves. Each block checks its instruction count against the caller's budget
 * before it starts, so a region never runs past `end`.
 * @module
 */
import {
  K_ALU8_MI,
  K_ALU8_RI,
  K_ALU8_RR,
  K_ALU_AI,
  K_ALU_MI,
  K_ALU_MR,
  K_ALU_RI,
  K_ALU_RM,
  K_ALU_RR,
  K_CALL,
  K_CALL_R,
  K_CDQ,
  K_CMOV,
  K_DEC,
  K_DEC_M,
  K_IMUL_RM,
  K_IMUL_RRI,
  K_INC,
  K_INC_M,
  K_JCC,
  K_JMP,
  K_JMP_R,
  K_LEA,
  K_MOV8_MI,
  K_MOV8_MR,
  K_MOV8_RM,
  K_MOV_MI,
  K_MOV_MR,
  K_MOV_RI,
  K_MOV_RM,
  K_MOV_RR,
  K_MOVX_RM,
  K_MOVX_RR,
  K_NOP,
  K_POP_R,
  K_PUSH_I,
  K_PUSH_R,
  K_RET,
  K_SETCC,
  K_SHIFT_RI,
  K_TEST_RI,
  K_XCHG_R,
} from "../decoded_cache.ts";
import { LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_SUB } from "../flags.ts";
import { Emitter, PK_IMUL, PK_SHIFT, reg } from "./emitter.ts";
import {
  F_ALU_AL,
  F_CALL_M,
  F_LEAVE,
  F_MOV_A_MOFFS,
  F_MOV_MOFFS_A,
  F_MOVS,
  F_RET_IMM,
  type Form,
} from "./forms.ts";
import type { Block, RecordSource } from "./region.ts";

/**
 * The inline ALU operations (ALU group numbers 0..7, 8 = test): result expression of `a`
 * and `b`, and the lazy-flag operation. adc/sbb (null) go through ops/alu.ts.
 */
const ALU: ({ expr: string; lf: number } | null)[] = [
  { expr: "(a + b) | 0", lf: LF_ADD },
  { expr: "a | b", lf: LF_LOGIC },
  null,
  null,
  { expr: "a & b", lf: LF_LOGIC },
  { expr: "(a - b) | 0", lf: LF_SUB },
  { expr: "a ^ b", lf: LF_LOGIC },
  { expr: "(a - b) | 0", lf: LF_SUB },
  { expr: "a & b", lf: LF_LOGIC },
];

/** The packed effective address of a moffs operand: no base, no index, DS. */
const DS_MOFFS = 0x3088;

/** A generated region: its source and the per-instruction tables the catch uses. */
export interface RegionSource {
  /** The body of `function (c, end)`, given IDX, OFF, POS and the helpers in scope. */
  body: string;
  /** Label (block index) of each page offset that starts a block, else -1. */
  idx: Int16Array;
  /** Page offset of each instruction index `k`. */
  off: Int32Array;
  /** Position of instruction `k` inside its block (instructions retired before it). */
  pos: Int32Array;
  /** Instructions compiled. */
  insns: number;
}

/** Generates the region of `blocks` (the first is the entry). */
export function generate(src: RecordSource, blocks: Block[]): RegionSource {
  const g = new Gen(src);
  return g.region(blocks);
}

class Gen extends Emitter {
  constructor(src: RecordSource) {
    super(src);
  }

  region(blocks: Block[]): RegionSource {
    blocks.forEach((b, i) => this.labels.set(b.start, i));
    const body: string[] = [];
    blocks.forEach((b, i) => body.push(this.block(b, i)));
    const head: string[] = [
      "const rx = c.rx, dv = c.dv, u8 = c.u8, lf = c.lf, tRd = c.tRd, tWr = c.tWr;",
      "const sc = c.segChk, sl = c.segLimit;",
      "if ((sc[2] & 16) === 0) return 0;",
      "const csLim = (sc[1] & 32) !== 0 ? 4294967295 : sl[1] >>> 0;",
      "const base = c.eip - (c.eip & 4095);",
    ];
    for (const s of [...this.segs].sort()) {
      head.push(
        `const g${s} = (sc[${s}] & 64) !== 0 ? 4294967295 : (sc[${s}] & 128) !== 0 ? ` +
          `sl[${s}] >>> 0 : -1;`,
      );
    }
    head.push(
      "let r0 = rx[0], r1 = rx[1], r2 = rx[2], r3 = rx[3], r4 = rx[4], r5 = rx[5], " +
        "r6 = rx[6], r7 = rx[7];",
      "let pa = 0, pb = 0, pr = 0, pk = 0;",
      "let n = c.retired, k = 0, eip = 0;",
      "let pc = 0;",
      "const n0 = n;",
    );
    const wb = [...this.written].sort().map((r) => `rx[${r}] = r${r};`).join(" ");
    const src = [
      ...head,
      "try {",
      "loop: for (;;) {",
      "switch (pc) {",
      ...body,
      "}",
      "}",
      "} catch (e) {",
      wb,
      "c.eip = base + OFF[k];",
      "c.retired = n + POS[k];",
      "throw e;",
      "}",
      "if (pk !== 0) flushPending(c, pk, pa, pb, pr);",
      wb,
      "c.eip = eip;",
      "c.retired = n;",
      "return n - n0;",
    ];
    const idx = new Int16Array(4096).fill(-1);
    for (const [off, i] of this.labels) idx[off] = i;
    return {
      body: src.join("\n"),
      idx,
      off: Int32Array.from(this.offs),
      pos: Int32Array.from(this.poss),
      insns: this.offs.length,
    };
  }

  // ---- blocks --------------------------------------------------------------------------

  private block(b: Block, label: number): string {
    this.out = [];
    this.pend = null;
    this.carriedStored = false;
    const cnt = b.insns.length;
    this.emit(`case ${label}: {`);
    this.emit(`if (n + ${cnt} > end) { eip = base + ${b.start}; break loop; }`);
    for (let j = 0; j < cnt; j++) {
      const { off, rec, len, form } = b.insns[j];
      const next = off + len;
      this.cur = { k: this.k++, pos: j, next };
      this.offs.push(off);
      this.poss.push(j);
      this.pendingStoreCheck = false;
      this.emit("{");
      const ended = rec !== 0 ? this.insn(rec, cnt) : form !== undefined && this.form(form, cnt);
      this.emit("}");
      if (ended) {
        this.emit("}");
        return this.out.join("\n");
      }
      if (this.pendingStoreCheck) {
        this.emit(
          `if (c.cPage === -1) { ${this.flushCode()} n += ${j + 1}; eip = base + ${next}; ` +
            `break loop; }`,
        );
      }
    }
    // No branch at the end: continue at the next offset.
    this.carry();
    this.emit(`n += ${cnt}; ${this.goOff(b.next)}`);
    this.emit("}");
    return this.out.join("\n");
  }

  /** A transfer to page offset or absolute target; n already counts the block. */
  private goOff(t: number): string {
    const l = this.labels.get(t);
    if (l !== undefined) return `pc = ${l}; continue loop;`;
    if (t >= 0 && t < 4096) return `eip = base + ${t}; break loop;`;
    return `{ const tg = (base + ${t}) >>> 0; if (tg > csLim) { n -= ${this.cur.pos + 1}; ` +
      `${this.mayThrow()} c.gp(0); } eip = tg; break loop; }`;
  }

  /** A transfer to a run-time target `t` (uint32); n already counts the block. */
  private goDyn(): string {
    return `if (tg > csLim) { n -= ${this.cur.pos + 1}; ${this.mayThrow()} c.gp(0); } ` +
      this.dynTarget();
  }

  /** Continues at run-time target `tg`: a label of this region, or an exit. */
  private dynTarget(): string {
    return "{ const ix = tg - base; if (ix >= 0 && ix < 4096 && IDX[ix] >= 0) { pc = IDX[ix]; " +
      "continue loop; } eip = tg; break loop; }";
  }

  /**
   * Emits one instruction.
   * @returns true when it ended the block (a control transfer)
   */
  private insn(rec: number, cnt: number): boolean {
    const s = this.src;
    const kind = s.kind[rec], A = s.a[rec], B = s.b[rec], D = s.d[rec], I = s.i[rec];
    const next = this.cur.next;
    switch (kind) {
      case K_MOV_RR:
        this.set(A, reg(I));
        return false;
      case K_MOV_RI:
        this.set(A, String(I));
        return false;
      case K_MOV_RM:
        this.emit("let v = 0;");
        this.lin(B, D, 4, false);
        this.load(4, "v");
        this.set(A, "v");
        return false;
      case K_MOV_MR:
        this.lin(B, D, 4, true);
        this.store(4, reg(A));
        return false;
      case K_MOV_MI:
        this.lin(B, D, 4, true);
        this.store(4, String(I));
        return false;
      case K_MOV8_RM:
        this.emit("let v = 0;");
        this.lin(B, D, 1, false);
        this.load(1, "v");
        this.r8set(A, "v");
        return false;
      case K_MOV8_MR:
        this.lin(B, D, 1, true);
        this.store(1, this.r8get(A));
        return false;
      case K_MOV8_MI:
        this.lin(B, D, 1, true);
        this.store(1, String(I & 255));
        return false;
      case K_MOVX_RR: {
        const v = I === 1
          ? this.r8get(B)
          : I === 2
          ? `(${reg(B)} & 65535)`
          : I === 3
          ? `((${this.r8get(B)} << 24) >> 24)`
          : `((${reg(B)} << 16) >> 16)`;
        this.set(A, v);
        return false;
      }
      case K_MOVX_RM: {
        this.emit("let v = 0;");
        const size = I & 1 ? 1 : 2;
        this.lin(B, D, size, false);
        this.load(size, "v");
        const v = I === 3 ? "(v << 24) >> 24" : I === 4 ? "(v << 16) >> 16" : "v";
        this.set(A, v);
        return false;
      }
      case K_LEA:
        this.set(A, this.ea(B, D).includes("|") ? this.ea(B, D) : `${this.ea(B, D)} | 0`);
        return false;
      case K_NOP:
        return false;
      case K_XCHG_R:
        this.written.add(A);
        this.written.add(0);
        this.emit(`{ const v = ${reg(A)}; ${reg(A)} = r0; r0 = v; }`);
        return false;
      case K_CDQ:
        this.set(2, "r0 >> 31");
        return false;
      case K_ALU_RR:
        this.alu(A, reg(B), reg(I), 32, (r) => this.set(B, r));
        return false;
      case K_ALU_RI:
        this.alu(A, reg(B), String(I), 32, (r) => this.set(B, r));
        return false;
      case K_ALU_AI:
        this.alu(A, "r0", String(I), 32, (r) => this.set(0, r));
        return false;
      case K_TEST_RI:
        this.alu(8, reg(A), String(I), 32, () => {});
        return false;
      case K_ALU_RM:
        this.emit("let v = 0;");
        this.lin(B, D, 4, false);
        this.load(4, "v");
        this.alu(A, reg(I), "v", 32, (r) => this.set(I, r));
        return false;
      case K_ALU_MR:
      case K_ALU_MI: {
        const src = kind === K_ALU_MR ? reg(I) : String(I);
        this.emit("let v = 0;");
        if (A === 7 || A === 8) {
          this.lin(B, D, 4, false);
          this.load(4, "v");
          this.alu(A, "v", src, 32, () => {});
        } else {
          this.lin(B, D, 4, true);
          this.rmwAddr(4);
          this.rmwRead(4, "v");
          this.alu(A, "v", src, 32, (r) => this.rmwWrite(4, r));
          this.afterStore();
        }
        return false;
      }
      case K_ALU8_RR:
        this.alu(A, this.r8get(B), this.r8get(I), 8, (r) => this.r8set(B, r));
        return false;
      case K_ALU8_RI:
        this.alu(A, this.r8get(B), String(I & 255), 8, (r) => this.r8set(B, r));
        return false;
      case K_ALU8_MI:
        this.emit("let v = 0;");
        if (A === 7) {
          this.lin(B, D, 1, false);
          this.load(1, "v");
          this.alu(A, "v", String(I & 255), 8, () => {});
        } else {
          this.lin(B, D, 1, true);
          this.rmwAddr(1);
          this.rmwRead(1, "v");
          this.alu(A, "v", String(I & 255), 8, (r) => this.rmwWrite(1, r));
          this.afterStore();
        }
        return false;
      case K_INC:
      case K_DEC:
        this.incdec(kind === K_INC, reg(A), (r) => this.set(A, r));
        return false;
      case K_INC_M:
      case K_DEC_M:
        this.emit("let v = 0;");
        this.lin(B, D, 4, true);
        this.rmwAddr(4);
        this.rmwRead(4, "v");
        this.incdec(kind === K_INC_M, "v", (r) => this.rmwWrite(4, r));
        this.afterStore();
        return false;
      case K_SHIFT_RI:
        this.shift(A, B, I);
        return false;
      case K_IMUL_RM:
      case K_IMUL_RRI: {
        this.emit("let v = 0;");
        if ((B & 0x10000) !== 0) this.emit(`v = ${reg(B & 7)};`);
        else {
          this.lin(B, D, 4, false);
          this.load(4, "v");
        }
        // imul keeps SF ZF AF PF: the flags before it are stored, its own are replayed.
        this.flush();
        this.emit(
          `const x = ${kind === K_IMUL_RM ? reg(A) : "v"}, y = ${kind === K_IMUL_RM ? "v" : I};`,
        );
        this.set(A, "Math.imul(x, y)");
        this.emit("pa = x; pb = y;");
        this.produceReplay("imul2(c, pa, pb, 4);", PK_IMUL);
        return false;
      }
      case K_CMOV: {
        this.emit("let v = 0;");
        if ((B & 0x10000) !== 0) this.emit(`v = ${reg(B & 7)};`);
        else {
          this.lin(B, D, 4, false);
          this.load(4, "v");
        }
        this.written.add(A);
        this.emit(`if (${this.cond(I)}) ${reg(A)} = v;`);
        return false;
      }
      case K_SETCC:
        this.r8set(B, `${this.cond(A)} ? 1 : 0`);
        return false;
      case K_PUSH_R:
      case K_PUSH_I:
        this.push(kind === K_PUSH_R ? reg(A) : String(I));
        return false;
      case K_POP_R:
        this.emit("let v = 0;");
        this.stackLoad();
        this.set(4, "(r4 + 4) | 0");
        this.set(A, "v");
        return false;
      case K_JMP:
        this.carry();
        this.emit(`n += ${cnt};`);
        this.emit(this.goOff(next + I));
        return true;
      case K_JCC: {
        const c = this.cond(A);
        this.carry();
        this.emit(`n += ${cnt};`);
        this.emit(`if (${c}) { ${this.goOff(next + I)} }`);
        this.emit(this.goOff(next));
        return true;
      }
      case K_CALL:
        this.flush();
        if (next + I < 0 || next + I >= 4096) {
          this.emit(`if (((base + ${next + I}) >>> 0) > csLim) { k = ${this.cur.k}; c.gp(0); }`);
        }
        this.push(`(base + ${next}) | 0`);
        this.emit(`n += ${cnt};`);
        this.emit(`if (c.cPage === -1) { eip = (base + ${next + I}) >>> 0; break loop; }`);
        this.emit(this.goOff(next + I));
        return true;
      case K_CALL_R:
        this.flush();
        this.emit(`const tg = ${reg(A)} >>> 0;`);
        this.emit(`if (tg > csLim) { k = ${this.cur.k}; c.gp(0); }`);
        this.push(`(base + ${next}) | 0`);
        this.emit(`n += ${cnt};`);
        this.emit(`if (c.cPage === -1) { eip = tg; break loop; }`);
        this.emit(this.dynTarget());
        return true;
      case K_JMP_R:
        this.flush();
        this.emit(`const tg = ${reg(A)} >>> 0;`);
        this.emit(`n += ${cnt};`);
        this.emit(this.goDyn());
        return true;
      case K_RET:
        this.flush();
        this.emit("let v = 0;");
        this.stackLoad();
        this.emit("const tg = v >>> 0;");
        this.emit(`if (tg > csLim) { k = ${this.cur.k}; c.gp(0); }`);
        this.set(4, "(r4 + 4) | 0");
        this.emit(`n += ${cnt};`);
        this.emit(this.dynTarget());
        return true;
    }
    throw new Error(`jit: kind ${kind} has no code generator`);
  }

  /**
   * Emits a form recognised from the code bytes (forms.ts).
   * @returns true when it ended the block
   */
  private form(f: Form, cnt: number): boolean {
    switch (f.f) {
      case F_ALU_AL:
        this.alu(f.a, this.r8get(0), String(f.i & 255), 8, (r) => this.r8set(0, r));
        return false;
      case F_MOV_A_MOFFS:
        this.emit("let v = 0;");
        this.lin(DS_MOFFS, f.i, 4, false);
        this.load(4, "v");
        this.set(0, "v");
        return false;
      case F_MOV_MOFFS_A:
        this.lin(DS_MOFFS, f.i, 4, true);
        this.store(4, "r0");
        return false;
      case F_LEAVE:
        this.emit("let v = 0;");
        this.stackLoad("r5");
        this.set(4, "(r5 + 4) | 0");
        this.set(5, "v");
        return false;
      case F_CALL_M:
        this.flush();
        this.emit("let v = 0;");
        this.lin(f.a, f.i, 4, false);
        this.load(4, "v");
        this.emit("const tg = v >>> 0;");
        this.emit(`if (tg > csLim) { k = ${this.cur.k}; c.gp(0); }`);
        this.push(`(base + ${this.cur.next}) | 0`);
        this.emit(`n += ${cnt};`);
        this.emit(`if (c.cPage === -1) { eip = tg; break loop; }`);
        this.emit(this.dynTarget());
        return true;
      case F_RET_IMM:
        this.flush();
        this.emit("let v = 0;");
        this.stackLoad();
        this.emit("const tg = v >>> 0;");
        this.emit(`if (tg > csLim) { k = ${this.cur.k}; c.gp(0); }`);
        this.set(4, `(r4 + ${4 + f.i}) | 0`);
        this.emit(`n += ${cnt};`);
        this.emit(this.dynTarget());
        return true;
    }
    this.stringElement(f.f === F_MOVS, f.a); // F_MOVS, F_STOS
    return false;
  }

  /** ALU op `op` on a and b of `sz` bits; `write(r)` stores the result (not for cmp/test). */
  private alu(
    op: number,
    a: string,
    b: string,
    sz: number,
    write: (r: string) => void,
  ): void {
    const inl = ALU[op];
    if (inl === null) {
      // adc / sbb: the interpreter's ALU on the CPU's flags.
      this.flush();
      this.emit(`const r = alu(c, ${op}, ${a}, ${b}, ${sz >> 3});`);
      write(sz === 8 ? "r & 255" : "r");
      this.helperSetFlags();
      return;
    }
    this.emit(`const a = ${a}, b = ${b};`);
    this.emit(`const r = ${inl.expr};`);
    if (op < 7) write(sz === 8 ? "r & 255" : "r");
    this.produce(inl.lf, sz, "a", "b", "r");
  }

  /** Group-2 shift `op` of register `r` by `count` (-1: CL); rcl/rcr go to ops/shift.ts. */
  private shift(op: number, r: number, count: number): void {
    const cl = count < 0;
    if (op === 2 || op === 3) {
      this.flush();
      this.set(r, `shift(c, ${op}, ${reg(r)}, ${cl ? "r1 & 255" : count}, 4)`);
      this.helperSetFlags();
      return;
    }
    if (!cl && (count & 31) === 0) return; // no change, flags untouched
    // Rotates keep SF ZF AF PF, and a CL count of 0 keeps every flag: store the flags before.
    if (cl || op < 2) this.flush();
    this.emit(`const v = ${reg(r)}, cn = ${cl ? "r1 & 31" : count & 31};`);
    const expr = op === 0
      ? "(v << cn) | (v >>> (32 - cn))"
      : op === 1
      ? "(v >>> cn) | (v << (32 - cn))"
      : op === 5
      ? "(v >>> cn) | 0"
      : op === 7
      ? "v >> cn"
      : "v << cn";
    this.set(r, expr);
    this.emit("pa = v; pb = cn;");
    this.produceReplay(`shift(c, ${op}, pa, pb, 4);`, PK_SHIFT | (op << 4));
  }

  /** inc/dec of a 32-bit value: CF is kept (made current in c.flags first). */
  private incdec(isInc: boolean, a: string, write: (r: string) => void): void {
    this.emit(`const a = ${a};`);
    this.emit(`const r = (a ${isInc ? "+" : "-"} 1) | 0;`);
    const cf = this.cf();
    write("r");
    this.emit(`c.flags = (c.flags & -2) | ${cf};`);
    this.produce(isInc ? LF_INC : LF_DEC, 32, "a", "1", "r");
  }
}
