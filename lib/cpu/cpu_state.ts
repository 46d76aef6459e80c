/**
 * The architectural and per-instruction state of the CPU (registers, flags, segments,
 * control and descriptor-table registers, decode scratch); `Cpu` adds memory and behaviour.
 * @module
 */

import type { DescriptorTables } from "./platform.ts";
import { LF_NONE } from "./flags.ts";
import { X87State } from "./fpu/x87_state.ts";
import { SseState } from "./sse/sse_state.ts";
import { LongState } from "./long/long_state.ts";

const DS = 3;

/** The state half of {@link Cpu} (see cpu.ts for the behaviour). */
export class CpuState {
  /** Backing store of the register views. */
  protected readonly regBuf: ArrayBuffer = new ArrayBuffer(64);
  /** GPRs in encoding order: EAX ECX EDX EBX ESP EBP ESI EDI. */
  readonly regs: Int32Array = new Int32Array(this.regBuf, 0, 8);
  /** The GPRs followed by zeros (index 8 reads 0: "no register" in decoded addresses). */
  readonly rx: Int32Array = new Int32Array(this.regBuf, 0, 16);
  /** 16-bit view of {@link regs} (register r at index r*2). */
  readonly r16: Uint16Array = new Uint16Array(this.regBuf);
  /** 8-bit view of {@link regs}. */
  readonly r8: Uint8Array = new Uint8Array(this.regBuf);
  /** Instruction pointer (u32). */
  eip = 0;
  /** EFLAGS (arithmetic bits stale while {@link lfOp} is set); use getEflags(). */
  flags = 2;
  /** Lazy-flag operation (see flags.ts). */
  lfOp: number = LF_NONE;
  /** Lazy-flag first operand, second operand and result (see flags.ts). */
  readonly lf: Int32Array = new Int32Array(3);
  /** Lazy-flag operand size in bits. */
  lfSz = 32;
  /** Current privilege level. */
  cpl = 0;

  /** Segment selectors. */
  readonly segSel: Int32Array = new Int32Array(6);
  /** Segment bases (u32 stored as int32). */
  readonly segBase: Int32Array = new Int32Array(6);
  /** Segment limits in bytes (u32 stored as int32). */
  readonly segLimit: Int32Array = new Int32Array(6);
  /** Segment attributes (descriptor bits 40..55 shifted right by 8). */
  readonly segAttr: Int32Array = new Int32Array(6);
  /** Derived access checks per segment (SC_* bits of segmentation.ts). */
  readonly segChk: Uint8Array = new Uint8Array(6);

  /** CR0 (PE|ET|NE by default). TS (bit 3) makes FPU/SSE instructions raise #NM. */
  cr0 = 0x31;
  /** CR2: the last #PF linear address. */
  cr2 = 0;
  /** CR3 (stored; the walker owns the page-table root). */
  cr3 = 0;
  /** CR4 (OSFXSR|OSXMMEXCPT by default). */
  cr4 = 0x600;
  /** IA32_EFER (NXE = bit 11, read by the walker). */
  efer = 0;
  /** CPUID faulting (MISC_FEATURES_ENABLES bit 0): cpuid above CPL 0 raises #GP(0). */
  cpuidFaulting = false;
  /** What the debug unit has armed (ARM_* of debug_unit.ts); 0 = the fast path. */
  dbgArmed = 0;
  /** Debug registers DR0..DR7 (call `debug.refresh()` after changing DR0-3 or DR7). */
  readonly dr: Int32Array = new Int32Array(8);
  /** GDTR base and limit. */
  gdtBase = 0;
  /** GDTR limit. */
  gdtLimit = 0xffff;
  /** IDTR base and limit (stored only; the platform delivers exceptions). */
  idtBase = 0;
  /** IDTR limit. */
  idtLimit = 0x3ff;
  /** LDTR selector, base, limit. */
  ldtSel = 0;
  /** LDTR base. */
  ldtBase = 0;
  /** LDTR limit. */
  ldtLimit = 0;
  /** TR selector, base, limit. */
  trSel = 0;
  /** TR base. */
  trBase = 0;
  /** TR limit. */
  trLimit = 0;
  /** When set, descriptor loads read through it instead of GDTR/LDTR. */
  descriptorTables: DescriptorTables | null = null;
  /** Model-specific registers written by wrmsr at CPL 0 (index -> [lo, hi]). */
  readonly msrs: Map<number, [number, number]> = new Map();

  /** Set by hlt at CPL 0 (which also stops the run); clear it to resume. */
  halted = false;
  /** Total retired instructions (float64 counter). */
  retired = 0;
  /** Set by the try* accessors: whether the last one faulted. */
  faulted = false;
  /** The #PF error code of the last page fault. */
  pfErrorCode = 0;
  /** The vector of the fault being raised. */
  excVector = 0;
  /** Its error code, or -1. */
  excCode: number = -1;

  /** x87 FPU state (lib/cpu/fpu). */
  readonly x87: X87State = new X87State();
  /** SSE state: xmm0-7 and MXCSR (lib/cpu/sse). */
  readonly sse: SseState = new SseState();
  /** 64-bit register halves and IA-32e MSRs (lib/cpu/long; dormant in 32-bit mode). */
  readonly lm: LongState = new LongState();

  // Per-instruction decode state (see interpreter.ts).
  /** EIP of the instruction being executed. */
  eipStart = 0;
  /** ESP at instruction start (restored when the instruction faults). */
  espStart = 0;
  /** Fetch pointer (machine address) and its fast-path end. */
  fpos = 0;
  /** End of the fast fetch window. */
  fend = 0;
  /** Machine address that corresponds to the instruction's first byte. */
  fstart = 0;
  /** Linear page of the fetch window (-1: none). */
  protected fPage: number = -1;
  /** Machine address of the fetch window's page. */
  protected fBase = 0;
  /** Operand size 16 when true. */
  o16 = false;
  /** Address size 16 when true. */
  a16 = false;
  /** Segment override (-1 none). */
  segOv: number = -1;
  /** rep prefix: 0, 0xf2 or 0xf3. */
  rep = 0;
  /** Last mandatory-prefix candidate (0, 0x66, 0xf2, 0xf3) for SSE. */
  ssePrefix = 0;
  /** lock prefix seen. */
  lock = false;
  /** Effective address: segment register and offset of the ModRM memory operand. */
  eaSeg: number = DS;
  /** Offset of the decoded memory operand. */
  eaOff = 0;
  /** Set by {@link stop}; the run loop ends at the next instruction boundary. */
  stopRequested = false;
  /** Whether CS is a usable 32-bit segment with base 0 (decoded-cache path). */
  cs32flat = true;
  /** Linear page, offset index and machine page base of the current code page. */
  cPage: number = -1;
  /** Offset index of the current code page. */
  cArr: Int32Array = new Int32Array(4096);
  /** Machine address of the current code page. */
  cBase = 0;
  /** True while the full interpreter runs an instruction (its faults restore ESP). */
  inStep = false;
  /** Scratch for descriptor reads. */
  readonly desc: Int32Array = new Int32Array(2);
}
