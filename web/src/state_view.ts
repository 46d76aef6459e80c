/**
 * The live views of a running guest as text: the xenstore tree (dom0's view, as
 * `xenstore-ls` prints it) and the event channels of each domain with their counts.
 * Pure functions of the session's state, so tests call them without a page.
 * @module
 */
import type { XenStore } from "../../lib/hypervisor/xenstore/store.ts";
import type { EventChannels } from "../../lib/hypervisor/evtchn/channels.ts";
import type { EventCounter } from "./event_counter.ts";

const MAX_LINES = 400;

/**
 * The store as an indented tree, `name = "value"` per node (at most 400 lines).
 * @param store the store
 * @param root where to start
 */
export function renderXenstore(store: XenStore, root = "/"): string {
  const out: string[] = [];
  const walk = (path: string, name: string, depth: number) => {
    if (out.length >= MAX_LINES) return;
    const v = store.read(path);
    const shown = v === undefined || v === "" ? "" : ` = "${printable(v)}"`;
    if (name !== "") out.push(`${" ".repeat(depth)}${name}${shown}`);
    const kids = store.directory(path) ?? [];
    for (const k of kids) {
      walk(path === "/" ? `/${k}` : `${path}/${k}`, k, name === "" ? depth : depth + 1);
    }
  };
  walk(root, "", 0);
  if (out.length >= MAX_LINES) out.push("...");
  return out.join("\n");
}

function printable(v: string): string {
  const s = v.length > 64 ? v.slice(0, 64) + "..." : v;
  let out = "";
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    out += c < 0x20 || c === 0x7f || ch === '"' || ch === "\\"
      ? `\\x${c.toString(16).padStart(2, "0")}`
      : ch;
  }
  return out;
}

const STATES = ["free", "reserved", "unbound", "interdomain", "pirq", "virq", "ipi"];

/**
 * One line per open port: state, peer or virq, sends, arrivals and upcalls.
 * @param domains each domain's event channels
 * @param counts the counting tracer
 */
export function renderEvtchns(
  domains: readonly (EventChannels | null)[],
  counts: EventCounter,
): string {
  const out = ["dom port state        peer      sent   recv upcalls"];
  for (const ec of domains) {
    if (!ec) continue;
    for (let p = 1; p < ec.maxPorts && out.length < MAX_LINES; p++) {
      const st = ec.state(p);
      if (st === 0) continue;
      const name = STATES[st] ?? String(st);
      const peer = name === "interdomain"
        ? `d${ec.remoteDom(p)}:${ec.remotePort(p)}`
        : name === "unbound"
        ? `d${ec.remoteDom(p)}`
        : name === "virq"
        ? `virq ${ec.virqOf(p)}`
        : "";
      const c = counts.ports.get(`${ec.domid}:${p}`);
      out.push(
        `${String(ec.domid).padStart(3)} ${String(p).padStart(4)} ${name.padEnd(12)} ${
          peer.padEnd(8)
        } ${String(c?.sends ?? 0).padStart(6)} ${String(c?.received ?? 0).padStart(6)} ${
          String(c?.upcalls ?? 0).padStart(7)
        }`,
      );
    }
  }
  return out.join("\n");
}
