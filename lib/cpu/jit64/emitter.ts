/**
 * The statement emitter under the 64-bit code generator (codegen.ts): guest registers as
 * locals (l0..l15 low halves, h0..h15 high halves), operands at 8/16/32/64 bits,
 * effective addresses as two int32 halves, inline TLB-hit loads and stores (tlb64.ts's
 * hash, spelled out) with their slow paths, and the pending flag producer (flags_gen.ts).
 *
 * Precise faults: a statement that may throw is only ever in a slow path, which first
 * stores the pending flags in `fl` and sets `k` (the instruction's index); registers and
 * flag operands are assigned only after an instruction's last access, so the catch
 * writes back exactly the state before the faulting instruction.
 * @module
 */
import { TLB64_HASH, TLB64_MASK, TLB64_SHIFT } from "../tlb64.ts";
import { type Insn, RIP } from "./decode.ts";
import { cfExpr, condExpr, materialize, P_DYN, type Pend, pkCode } from "./flags_gen.ts";

/** The low / high half local of GPR r. */
export function lo(r: number): string {
  return `l${r}`;
}
export function hi(r: number): string {
  return `h${r}`;
}

/** Emits the statements of one region (see codegen.ts for the instructions). */
export class Emitter {
  protected out: string[] = [];
  /** The pending flag producer, or null when `fl` holds the flags. */
  protected pend: Pend | null = null;
  /** Registers read or written, and written (loaded at entry, stored at exit). */
  readonly used = new Set<number>();
  readonly written = new Set<number>();
  /** FS/GS bases the region reads (4, 5). */
  readonly segs = new Set<number>();
  /** The current instruction's index (`k`). */
  protected k = 0;
  /** The current instruction stores to memory (a store may drop the region's code). */
  protected stores = false;

  protected emit(s: string): void {
    this.out.push(s);
  }

  /** {@link emit} for the module's helpers. */
  line(s: string): void {
    this.out.push(s);
  }

  // ---- flags ---------------------------------------------------------------------------

  /** Source storing the pending producer in `fl` (empty when none). */
  protected matCode(): string {
    return this.pend === null ? "" : materialize(this.pend);
  }

  /** Stores the pending producer in `fl` now. */
  protected flush(): void {
    if (this.pend !== null) this.emit(materialize(this.pend));
    this.pend = null;
  }

  /** The block starts with the producer carried in `pk`. */
  protected carried(): void {
    this.pend = { kind: P_DYN, size: 0 };
  }

  /** Source handing the pending producer to the next block through `pk`. */
  protected carryCode(): string {
    if (this.pend !== null && this.pend.kind === P_DYN) return "";
    return `pk = ${pkCode(this.pend)};`;
  }

  /** Condition `cc` as a boolean expression (a carried producer is stored first). */
  protected cond(cc: number): string {
    if (this.pend !== null && this.pend.kind === P_DYN) this.flush();
    return condExpr(this.pend, cc);
  }

  /** CF as 0/1 (a carried producer is stored first). */
  protected cf(): string {
    if (this.pend !== null && this.pend.kind === P_DYN) this.flush();
    return cfExpr(this.pend);
  }

  /** Prefix of a slow path that may throw: pending flags stored, k set. */
  protected mayThrow(): string {
    return `${this.matCode()} k = ${this.k};`;
  }

  // ---- registers -----------------------------------------------------------------------

  /** The low half of GPR r at `size` bits (zero-extended below 32; AH..BH without REX). */
  protected rget(r: number, size: number, rex: boolean): string {
    if (size === 8 && !rex && r >= 4 && r < 8) {
      this.used.add(r - 4);
      return `((l${r - 4} >> 8) & 255)`;
    }
    this.used.add(r);
    if (size === 8) return `(l${r} & 255)`;
    if (size === 16) return `(l${r} & 65535)`;
    return lo(r);
  }

  /** The high half of GPR r at `size` bits ("0" below 64). */
  protected rgetHi(r: number, size: number): string {
    if (size !== 64) return "0";
    this.used.add(r);
    return hi(r);
  }

  /** Writes GPR r at `size` from the sources `vl`, `vh` (32-bit writes zero-extend). */
  protected rset(r: number, size: number, rex: boolean, vl: string, vh: string): void {
    if (size === 8) {
      if (!rex && r >= 4 && r < 8) {
        const q = r - 4;
        this.touch(q);
        this.emit(`l${q} = (l${q} & -65281) | ((${vl} & 255) << 8);`);
      } else {
        this.touch(r);
        this.emit(`l${r} = (l${r} & -256) | (${vl} & 255);`);
      }
      return;
    }
    this.touch(r);
    this.emit(`l${r} = ${vl}; h${r} = ${size === 64 ? vh : "0"};`);
  }

  private touch(r: number): void {
    this.used.add(r);
    this.written.add(r);
  }

  // ---- memory --------------------------------------------------------------------------

  /** Declares `al`, `ah`: the linear address of the memory operand of `i` (int32 only). */
  protected addr(i: Insn): void {
    if (i.base === RIP) {
      this.emit(`let al = 0, ah = 0; ${pagePlus("al", "ah", i.disp)}`);
    } else {
      const parts: [string, string][] = [];
      if (i.base >= 0) {
        this.used.add(i.base);
        parts.push([`l${i.base}`, `h${i.base}`]);
      }
      if (i.index >= 0) {
        const x = i.index, sc = i.scale;
        this.used.add(x);
        parts.push(
          sc === 0
            ? [`l${x}`, `h${x}`]
            : [`(l${x} << ${sc})`, `((h${x} << ${sc}) | (l${x} >>> ${32 - sc}))`],
        );
      }
      if (parts.length === 0) {
        this.emit(`let al = ${i.disp}, ah = ${i.disp >> 31};`);
      } else {
        this.emit(`let al = ${parts[0][0]}, ah = ${parts[0][1]};`);
        if (parts.length > 1) addTo(this, parts[1][0], parts[1][1]);
        if (i.disp !== 0) addTo(this, String(i.disp), String(i.disp >> 31));
      }
    }
    if (i.seg >= 0) {
      this.segs.add(i.seg);
      addTo(this, `sb${i.seg}`, `sh${i.seg}`);
    }
  }

  /** Whether the memory operand of `i` is a stack access (#SS(0) when non-canonical). */
  protected ssOf(i: Insn): boolean {
    return i.seg < 0 && (i.base === 4 || i.base === 5);
  }

  /** The TLB slot of (al, ah) in table `t` (source). */
  private slot(t: string): string {
    return `${t} + ((((al >>> 12) ^ (Math.imul(ah, ${TLB64_HASH}) >>> ${TLB64_SHIFT})) & ` +
      `${TLB64_MASK}) << 2)`;
  }

  /** Declares `vl`, `vh` = the `size` bytes (1, 2, 4, 8) at (al, ah), zero-extended. */
  protected load(size: number, ss: boolean, vl = "vl", vh = "vh"): void {
    const get = size === 1
      ? `${vl} = u8[m];`
      : size === 2
      ? `${vl} = dv.getUint16(m, true);`
      : size === 4
      ? `${vl} = dv.getInt32(m, true);`
      : `${vl} = dv.getInt32(m, true); ${vh} = dv.getInt32(m + 4, true);`;
    this.emit(`let ${vl} = 0, ${vh} = 0;`);
    this.emit(`{ const ti = ${this.slot("rb")};`);
    this.emit(
      `if (e[ti] === ((al & -4096) | 1) && e[ti + 1] === ah && (al & 4095) <= ${4096 - size}) ` +
        `{ const m = e[ti + 2] + (al & 4095); ${get} }`,
    );
    this.emit(
      `else { ${this.mayThrow()} rd(c, al, ah, ${size}, ${ss}); ${vl} = V[0]; ${vh} = V[1]; } }`,
    );
  }

  /** Stores the sources `vl`, `vh` (`size` bytes) at (al, ah). */
  protected store(size: number, ss: boolean, vl: string, vh: string): void {
    const set = size === 1
      ? `u8[m] = ${vl};`
      : size === 2
      ? `dv.setUint16(m, ${vl} & 65535, true);`
      : size === 4
      ? `dv.setInt32(m, ${vl}, true);`
      : `dv.setInt32(m, ${vl}, true); dv.setInt32(m + 4, ${vh}, true);`;
    this.emit(`{ const ti = ${this.slot("wb")};`);
    this.emit(
      `if (e[ti] === ((al & -4096) | 1) && e[ti + 1] === ah && (al & 4095) <= ${4096 - size}) ` +
        `{ const m = e[ti + 2] + (al & 4095); ${set} }`,
    );
    this.emit(
      `else { ${this.mayThrow()} wr(c, al, ah, ${size}, ${vl}, ${vh}, ${ss}); ` +
        `if (c.dcache.pages[MFN] !== ARR) dirty = true; } }`,
    );
    this.stores = true;
  }
}

/** Emits (al, ah) += (lo, hi) with int32 operations (the carry from an unsigned compare). */
function addTo(e: Emitter, lo: string, hi: string): void {
  e.line(
    `{ const t = (al + ${lo}) | 0; ah = (ah + ${hi} + ((t >>> 0) < (al >>> 0) ? 1 : 0)) | 0; al = t; }`,
  );
}

/**
 * Source setting (lo, hi) to the linear address of page offset `t` (any int32: outside
 * the page too), from the page base (bLo, bHi), with int32 operations.
 */
export function pagePlus(lo: string, hi: string, t: number): string {
  const carry = t >= 0
    ? `((${lo} >>> 0) < (bLo >>> 0) ? 1 : 0)`
    : `((${lo} >>> 0) > (bLo >>> 0) ? -1 : 0)`;
  return `${lo} = (bLo + ${t}) | 0; ${hi} = (bHi + ${carry}) | 0;`;
}
