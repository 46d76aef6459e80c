/**
 * The public face of lib/abi: every number and layout pvx takes from Xen's public headers.
 * @module
 */
export * from "./errno.ts";
export * from "./event_channel.ts";
export * from "./frame.ts";
export * from "./grant_table.ts";
export * from "./layout.ts";
export * from "./mmu.ts";
export * from "./page.ts";
export * from "./ring.ts";
export * from "./sched.ts";
export * from "./trace.ts";
export * from "./xen.ts";
export * from "./xenbus_state.ts";
export * as xenbus from "./xenbus_state.ts";
export * from "./guest_layout.ts";
export * from "./xen64.ts";
