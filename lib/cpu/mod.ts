/**
 * The x86 CPU: re-exports of the interpreter's public API (Cpu, the Platform and
 * PageWalker contracts, the length decoder and the test builders).
 * @module
 */

export { ATTR_CODE32, ATTR_DATA32, Cpu, CS, DS, ES, FAULT, FS, GS, SS } from "./cpu.ts";
export type { JitOptions } from "./jit/jit.ts";
export { instructionLength, lastDecode } from "./decode/length.ts";
/** The one opcode table (rows per map and mode; see decode/opcode_columns.ts). */
export * as opcodeTable from "./decode/opcodes.ts";
export { Tlb64 } from "./tlb64.ts";
export { CompatWalker } from "./long/compat.ts";
export {
  ArrayDescriptorTables,
  descriptor,
  flatMachine,
  hex,
  MapWalker,
  RecordingPlatform,
} from "./testing.ts";
export type { ExceptionRecord, FlatMachine } from "./testing.ts";
export * from "./platform.ts";
export type { CpuBus } from "./fpu/bus.ts";
export { X87State } from "./fpu/x87_state.ts";
export { SseState } from "./sse/sse_state.ts";
export { PhysMemory } from "./phys_memory.ts";
export { Tlb } from "./tlb.ts";
export { DecodedCache } from "./decoded_cache.ts";
export { CpuState } from "./cpu_state.ts";
export {
  ARM_DATA,
  DebugUnit,
  DR6_B0,
  DR6_BD,
  DR6_BS,
  DR6_DEFAULT,
  DR7_DEFAULT,
  ioBreakpointHits,
  linearKey,
  mergeDr6,
} from "./debug_unit.ts";
export type { DebugStop, WatchKind } from "./debug_unit.ts";
export { x87Execute, x87Fwait } from "./fpu/x87_execute.ts";
export { fldenv, fnsave, fnstenv, frstor } from "./fpu/x87_memory.ts";
export { fxrstor, fxsave, ldmxcsr, stmxcsr } from "./sse/fxsave.ts";
export { SSE_OPCODE_MAP, sseExecute } from "./sse/sse_execute.ts";
export { doubleToF80, f80Out, f80ToDouble } from "./fpu/f80.ts";
