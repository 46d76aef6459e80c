/**
 * Z/z packets: `Ztype,addr,kind` inserts a breakpoint (0 software, 1 hardware) or a
 * watchpoint (2 write, 3 read, 4 access) and `z` removes it. Both breakpoint kinds are
 * kept outside guest memory (the guest never sees a changed byte).
 * @module
 */
import { parseHexInt, parseHexNumber } from "./hex.ts";
import type { DebugTarget } from "./target.ts";

/** Watchpoint lengths pvx supports (as the debug registers). */
const WATCH_LENGTHS = [1, 2, 4, 8];

/**
 * Answers a Z or z packet.
 * @returns "OK", an error, or "" for an unsupported type
 */
export function handlePointPacket(t: DebugTarget, p: string): string {
  const parts = p.slice(1).split(";")[0].split(",");
  if (parts.length !== 3) return "E16";
  const type = parseHexInt(parts[0], 0xff);
  const addr = parseHexNumber(parts[1]);
  const kind = parseHexInt(parts[2], 0xffff);
  if (type < 0 || addr === null || kind < 0) return "E16";
  if (type > 4) return "";
  if (type >= 2 && !WATCH_LENGTHS.includes(kind)) return "E16";
  const len = type >= 2 ? kind : 1;
  const ok = p[0] === "Z" ? t.insertPoint(type, addr, len) : t.removePoint(type, addr, len);
  return ok ? "OK" : "E0e";
}
