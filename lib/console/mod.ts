/**
 * The public face of lib/console: what other packages use. Inside lib/console, import files
 * directly.
 * @module
 */
export {
  attachConsole,
  type AttachedConsole,
  CONSOLE_CLI_OPTIONS,
  type ConsoleAttachOptions,
} from "./attach.ts";
export { ConsoleBackend, type ConsoleStats } from "./backend.ts";
export { XenconsRing } from "./protocol.ts";
export { type ConsoleSink, ESCAPE_BYTE, OutputQueue } from "./sinks.ts";
export { type ConsoleOptions, enterRawMode, openConsole, StdioConsole } from "./terminal.ts";
export { MemorySink } from "./testing.ts";
export { ConsoleIoMerge } from "./console_io_merge.ts";
