/**
 * The public face of lib/console: what other packages use. Inside lib/console, import files
 * directly.
 * @module
 */
export { ConsoleBackend, type ConsoleStats } from "./backend.ts";
export { XenconsRing } from "./protocol.ts";
export { type ConsoleSink, ESCAPE_BYTE, OutputQueue } from "./sinks.ts";
export { FileInput } from "./file_input.ts";
export { type ByteWriter, type ConsoleInput, InputPump } from "./sinks.ts";
export { MemorySink } from "./testing.ts";
export { ConsoleIoMerge } from "./console_io_merge.ts";
