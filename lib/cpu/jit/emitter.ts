/**
 * The statement emitter under the code generator (codegen.ts): guest registers as locals
 * r0..r7, the pending flag producer (pa/pb/pr), operands, inline TLB-hit loads and stores
 * with their slow paths (which store pending flags and set `k` before anything that may
 * throw), read-modify-write operands and the stack.
 * @module
 */
import { getCF, type LazyFlags, LF_ADD, LF_LOGIC, LF_SUB } from "../flags.ts";
import { imul2 } from "../ops/muldiv.ts";
import { shift } from "../ops/shift.ts";
import { cfExpr, condExpr, type Pending } from "./flags_gen.ts";
import type { RecordSource } from "./region.ts";

/** Segment register SS, and the "no register" of a packed effective address. */
const SS = 2, NOREG = 8;

/**
 * Codes of the pending flag producer carried from block to block in the local `pk`
 * (0: the CPU's flags are current): a lazy operation is `lfOp | lfSz << 8`, a replayed
 * shift `PK_SHIFT | op << 4`, a replayed imul PK_IMUL. See {@link flushPending}.
 */
export const PK_SHIFT = 0x10000, PK_IMUL = 0x20000;

/** Stores a carried producer `pk` (operands pa, pb, pr) in the CPU's flags. */
export function flushPending(
  c: LazyFlags,
  pk: number,
  pa: number,
  pb: number,
  pr: number,
): void {
  if (pk < PK_SHIFT) {
    c.lfOp = pk & 255;
    c.lf[0] = pa;
    c.lf[1] = pb;
    c.lf[2] = pr;
    c.lfSz = pk >> 8;
  } else if (pk < PK_IMUL) shift(c, (pk >> 4) & 7, pa, pb, 4);
  else imul2(c, pa, pb, 4);
}

/** CF (0/1) of the flags as they stand with producer `pk` carried (0: the CPU's own). */
export function carriedCF(c: LazyFlags, pk: number, pa: number, pb: number, pr: number): number {
  if (pk === 0) return getCF(c);
  if (pk < PK_SHIFT) {
    const sz = pk >> 8;
    const m = sz === 32 ? -1 : (1 << sz) - 1;
    switch (pk & 255) {
      case LF_ADD:
        return ((pr & m) >>> 0) < ((pa & m) >>> 0) ? 1 : 0;
      case LF_SUB:
        return ((pa & m) >>> 0) < ((pb & m) >>> 0) ? 1 : 0;
      case LF_LOGIC:
        return 0;
      default: // inc/dec keep CF in c.flags
        return c.flags & 1;
    }
  }
  flushPending(c, pk, pa, pb, pr);
  return getCF(c);
}

/** The local holding guest register `r`. */
export function reg(r: number): string {
  return `r${r}`;
}

/** Emits the statements of one region (see codegen.ts for the instructions). */
export class Emitter {
  protected out: string[] = [];
  /**
   * The last flag producer, not yet stored in the CPU: a lazy-flag operation (op, sz) whose
   * operands are in pa/pb/pr, or a `replay` statement that recomputes its flags on the CPU
   * from pa/pb (shifts, imul: their flags are computed only when something can see them).
   */
  protected pend: (Pending & { flushed: boolean; replay?: string; pk: number }) | null = null;
  /** The carried producer (`pk`) is known to be stored (0) from here to the block's end. */
  protected carriedStored = false;
  /** Page offset -> label (block index) of the region's blocks. */
  protected labels: Map<number, number> = new Map();
  protected k = 0;
  protected offs: number[] = [];
  protected poss: number[] = [];
  protected written = new Set<number>();
  protected segs = new Set<number>();
  /** The current instruction: index, position in block, next offset. */
  protected cur = { k: 0, pos: 0, next: 0 };

  constructor(protected readonly src: RecordSource) {}

  protected emit(s: string): void {
    this.out.push(s);
  }

  // ---- flags ---------------------------------------------------------------------------

  /** Statements that store the pending producer in the CPU (empty when none). */
  protected flushCode(): string {
    const p = this.pend;
    // None in this block: the producer carried in from the previous block, if any.
    if (p === null) {
      return this.carriedStored ? "" : "if (pk !== 0) { flushPending(c, pk, pa, pb, pr); pk = 0; }";
    }
    if (p.flushed) return "";
    return `flushPending(c, ${p.pk}, pa, pb, pr); pk = 0;`;
  }

  /** At a block's end: the pending producer goes on to the next block in `pk`. */
  protected carry(): void {
    const p = this.pend;
    if (p !== null && !p.flushed) this.emit(`pk = ${p.pk};`);
  }

  /** Stores the pending producer now (a reader or helper follows). */
  protected flush(): void {
    const f = this.flushCode();
    if (f) this.emit(f);
    if (this.pend) this.pend.flushed = true;
    else this.carriedStored = true;
  }

  /** A new producer: operands `a`, `b`, result `r` expressions (already computed). */
  protected produce(op: number, sz: number, a: string, b: string, r: string): void {
    this.emit(`pa = ${a}; pb = ${b}; pr = ${r};`);
    this.pend = { op, sz, flushed: false, pk: op | (sz << 8) };
  }

  /**
   * A producer whose flags a helper recomputes when needed: `replay` runs on the CPU with
   * the inputs saved in pa/pb (emitted by the caller). It must not read earlier flags
   * unless those were stored first.
   */
  protected produceReplay(replay: string, pk: number): void {
    this.pend = { op: 0, sz: 32, flushed: false, replay, pk };
  }

  /** Flags now live in the CPU (a helper set them). */
  protected helperSetFlags(): void {
    this.pend = null;
    this.carriedStored = true;
  }

  /** A boolean expression for condition `cc` (may emit a flush). */
  protected cond(cc: number): string {
    if (this.pend !== null && this.pend.replay === undefined) {
      const e = condExpr(this.pend, cc);
      if (e !== null) return `(${e})`;
    }
    this.flush();
    return `testCC(c, ${cc})`;
  }

  /** The CF bit as a 0/1 expression (for inc/dec). */
  protected cf(): string {
    if (this.pend !== null && this.pend.replay === undefined) {
      const e = cfExpr(this.pend);
      if (e !== null) return e;
      return "(c.flags & 1)";
    }
    if (this.pend === null && !this.carriedStored) return "carriedCF(c, pk, pa, pb, pr)";
    this.flush();
    return "getCF(c)";
  }

  // ---- faults --------------------------------------------------------------------------

  /** Prefix of a statement that may throw: pending flags stored, k set. */
  protected mayThrow(): string {
    return `${this.flushCode()} k = ${this.cur.k};`;
  }

  // ---- operands ------------------------------------------------------------------------

  protected ea(e: number, d: number): string {
    const base = e & 15, index = (e >> 4) & 15, scale = (e >> 8) & 3;
    const parts: string[] = [];
    if (base !== NOREG) parts.push(reg(base));
    if (index !== NOREG) parts.push(scale ? `(${reg(index)} << ${scale})` : reg(index));
    if (d !== 0 || parts.length === 0) parts.push(String(d));
    return parts.length === 1 && base !== NOREG && index === NOREG && d === 0
      ? parts[0]
      : `(${parts.join(" + ")}) | 0`;
  }

  /** Declares `a` = linear address of the operand (segment checked). */
  protected lin(e: number, d: number, size: number, write: boolean): void {
    const s = (e >> 12) & 7;
    this.segs.add(s);
    this.emit(`let la = ${this.ea(e, d)};`);
    const test = size === 1 ? `(la >>> 0) > g${s}` : `(la >>> 0) + ${size - 1} > g${s}`;
    this.emit(`if (${test}) { ${this.mayThrow()} la = c.segAddr(${s}, la, ${size}, ${write}); }`);
  }

  /** `v` = the value at `a` (size 1, 2, 4; zero-extended for 1 and 2). */
  protected load(size: number, v: string): void {
    const slow = `{ ${this.mayThrow()} ${v} = c.read${size * 8}(la); }`;
    if (size === 1) {
      this.emit(`const t = tRd[la >>> 12];`);
      this.emit(`if (t !== 0) ${v} = u8[t - 1 + (la & 4095)]; else ${slow}`);
    } else {
      const get = size === 4 ? "getInt32" : "getUint16";
      this.emit(`const t = tRd[la >>> 12], o = la & 4095;`);
      this.emit(
        `if (t !== 0 && o <= ${4096 - size}) ${v} = dv.${get}(t - 1 + o, true); else ${slow}`,
      );
    }
  }

  /** Stores expression `v` at `a`. */
  protected store(size: number, v: string): void {
    const slow = `{ ${this.mayThrow()} c.write${size * 8}(la, ${v}); }`;
    if (size === 1) {
      this.emit(`const w = tWr[la >>> 12];`);
      this.emit(`if (w !== 0) u8[w - 1 + (la & 4095)] = ${v}; else ${slow}`);
    } else {
      const set = size === 4 ? "setInt32" : "setUint16";
      this.emit(`const w = tWr[la >>> 12], wo = la & 4095;`);
      this.emit(
        `if (w !== 0 && wo <= ${4096 - size}) dv.${set}(w - 1 + wo, ${v}, true); else ${slow}`,
      );
    }
    this.afterStore();
  }

  /**
   * `m` = machine address of a read-modify-write operand at `a`, translated for writing
   * (-1 when it crosses a page; `c.read`/`c.write` then serve it).
   */
  protected rmwAddr(size: number): void {
    this.emit(`const w = tWr[la >>> 12], wo = la & 4095;`);
    this.emit(
      `let m = 0; if (w !== 0 && wo <= ${4096 - size}) m = w - 1 + wo; ` +
        `else { ${this.mayThrow()} m = c.wAddr(la, ${size}); }`,
    );
  }

  protected rmwRead(size: number, v: string): void {
    const get = size === 4 ? "dv.getInt32(m, true)" : "u8[m]";
    this.emit(`${v} = m >= 0 ? ${get} : c.read${size * 8}(la);`);
  }

  protected rmwWrite(size: number, v: string): void {
    const set = size === 4 ? `dv.setInt32(m, ${v}, true)` : `u8[m] = ${v}`;
    this.emit(`if (m >= 0) ${set}; else c.write${size * 8}(la, ${v});`);
  }

  /** After a store: a write into decoded code dropped the page; leave after this insn. */
  protected afterStore(): void {
    this.pendingStoreCheck = true;
  }
  protected pendingStoreCheck = false;

  protected r8get(r: number): string {
    return r < 4 ? `(${reg(r)} & 255)` : `((${reg(r - 4)} >> 8) & 255)`;
  }

  protected r8set(r: number, v: string): void {
    if (r < 4) {
      this.written.add(r);
      this.emit(`${reg(r)} = (${reg(r)} & -256) | ((${v}) & 255);`);
    } else {
      this.written.add(r - 4);
      this.emit(`${reg(r - 4)} = (${reg(r - 4)} & -65281) | (((${v}) & 255) << 8);`);
    }
  }

  protected set(r: number, v: string): void {
    this.written.add(r);
    this.emit(`${reg(r)} = ${v};`);
  }

  /**
   * One movs/stos element of `size` bytes (no rep, 32-bit addresses): load from ds:esi
   * (movs), store at es:edi, then esi/edi step by the direction flag. Registers change
   * only after both accesses, so a fault at either leaves them as before the instruction.
   */
  stringElement(movs: boolean, size: number): void {
    this.emit("let v = 0;");
    if (movs) {
      this.emit("{");
      this.lin(0x3086, 0, size, false);
      this.load(size, "v");
      this.emit("}");
    } else this.emit(`v = ${size === 1 ? "r0 & 255" : "r0"};`);
    this.emit("{");
    this.lin(0x0087, 0, size, true);
    this.store(size, "v");
    this.emit("}");
    this.emit(`const dl = (c.flags & 1024) !== 0 ? ${-size} : ${size};`);
    if (movs) this.set(6, "(r6 + dl) | 0");
    this.set(7, "(r7 + dl) | 0");
  }

  /** push of expression `v` (32-bit stack; the region requires SS big). */
  protected push(v: string): void {
    this.segs.add(SS);
    this.emit("{");
    this.emit(`const pv = ${v};`);
    this.emit("let la = (r4 - 4) | 0;");
    this.emit(`if ((la >>> 0) + 3 > g2) { ${this.mayThrow()} la = c.segAddr(2, la, 4, true); }`);
    this.store(4, "pv");
    this.emit("}");
    this.set(4, "(r4 - 4) | 0");
  }

  /** `v` = the dword at ss:`at` (esp unless told). */
  protected stackLoad(at = "r4"): void {
    this.segs.add(SS);
    this.emit(`let la = ${at};`);
    this.emit(`if ((la >>> 0) + 3 > g2) { ${this.mayThrow()} la = c.segAddr(2, la, 4, false); }`);
    this.load(4, "v");
  }
}
