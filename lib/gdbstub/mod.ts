/**
 * The gdb stub of `pvx boot --gdb`: GDB remote serial protocol framing and session, the
 * register tables and target descriptions (i386, x86-64), guest memory through the
 * domain's page tables, monitor commands, and the TCP/unix transport.
 * @module
 */
export { GdbStub, type GdbStubOptions, runGated } from "./stub.ts";
export { type AttachEnd, DomainDebugger } from "./domain_debugger.ts";
export { type Connection, GdbSession, type SessionEnd, stopReply } from "./session.ts";
export {
  encodePacket,
  escapeBinary,
  MAX_PACKET,
  PacketDecoder,
  unescapeBinary,
  type WireEvent,
} from "./packet.ts";
export {
  type ArchRegisters,
  archRegisters,
  gLayout,
  I386,
  type RegDef,
  type RegisterAccess,
  targetXml,
  X86_64,
} from "./registers.ts";
export type { DebugTarget, ResumeAction, StopEvent } from "./target.ts";
export { type GdbEndpoint, parseGdbEndpoint } from "./transport.ts";
