/**
 * `monitor` commands (qRcmd): Xen's view of the debugged domain, which gdb cannot see
 * through the guest's memory: the domain and its vcpus, event channels, grant entries,
 * a page walk and the p2m, the xenstore tree, the last trace records.
 * @module
 */
import type { Machine } from "../hypervisor/mod.ts";
import type { PagingDomain } from "../paging/mod.ts";
import type { XenStore } from "../hypervisor/mod.ts";
import { showPageWalk } from "../paging/mod.ts";
import { INVALID_MFN } from "../paging/mod.ts";
import {
  ECS_FREE,
  ECS_INTERDOMAIN,
  ECS_IPI,
  ECS_PIRQ,
  ECS_RESERVED,
  ECS_UNBOUND,
  ECS_VIRQ,
} from "../abi/mod.ts";
import { asGfn, EVENT_NAMES, GTF_type_mask } from "../abi/mod.ts";
import type { TraceRing } from "./trace_ring.ts";

/** What the monitor reads besides the machine. */
export interface MonitorContext {
  /** The machine. */
  machine: Machine;
  /** The toolstack's store, when devices are attached. */
  store?: XenStore;
  /** The trace ring, when one records. */
  trace?: TraceRing;
}

const HELP = [
  "pvx monitor commands:",
  "  help                 this list",
  "  info                 the domain: id, memory, vcpus, shutdown state, instructions",
  "  vcpus                per vcpu: state, cpl, eip (rip), cr3, upcall pending/mask, timers",
  "  evtchn               bound event channels: port, kind, peer, vcpu, pending, masked",
  "  grants [N]           grant entries in use (first N, default 64)",
  "  pagewalk VA          the page walk of a guest virtual address on this vcpu",
  "  p2m PFN              the machine frame of a pseudo-physical frame (hex)",
  "  xenstore [PATH]      the xenstore tree under PATH (default the domain's home)",
  "  trace [N]            the last N hypervisor trace records (default 20)",
].join("\n");

const hex = (n: number) => "0x" + (n >>> 0).toString(16);
/** hi:lo as 0x + 16 hex digits. */
const hex64 = (lo: number, hi: number) =>
  "0x" + (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

/**
 * Runs a monitor command.
 * @param vcpu the vcpu gdb has selected (for pagewalk)
 * @returns the output (a usage line for an unknown command)
 */
export function runMonitor(ctx: MonitorContext, vcpu: number, line: string): string {
  const [cmd = "", ...args] = line.trim().split(/\s+/);
  const m = ctx.machine;
  const d = m.domain;
  switch (cmd) {
    case "":
    case "help":
      return HELP;
    case "info":
      return [
        `domain ${d.domid}: ${d.totPages} pages (max ${d.maxPages}), ${d.vcpus.length} vcpus`,
        `state: ${d.isShutdown ? `shut down (reason ${d.shutdownReason})` : "running"}` +
        (d.crashReason ? ` crash: ${d.crashReason}` : ""),
        `instructions retired: ${m.cpus.reduce((n, c) => n + c.retired, 0)}`,
        `translated paging: ${d.mm.translated ? "yes" : "no"}`,
      ].join("\n");
    case "vcpus":
      return d.vcpus.map((v) => {
        const c = m.cpus[v.id];
        const u8 = m.host.mem.u8;
        const pending = u8[v.vcpuInfoMaddr];
        const mask = u8[v.vcpuInfoMaddr + 1];
        const state = !v.online ? "offline" : v.blocked ? "blocked" : "runnable";
        const pc = d.mm.pv64 ? `rip ${hex64(c.eip, c.lm.ripHi)}` : `eip ${hex(c.eip)}`;
        return `vcpu${v.id}: ${state} cpl ${c.cpl} ${pc} cr3 ${hex(v.cr3)} ` +
          `upcall pending ${pending} mask ${mask} singleshot ${v.singleshotNs} ` +
          `periodic ${v.periodicPeriodNs}`;
      }).join("\n");
    case "evtchn":
      return evtchnLines(m).join("\n") || "no event channels bound";
    case "grants":
      return grantLines(m, args[0] ? Number(args[0]) : 64).join("\n") || "no grant entries in use";
    case "pagewalk": {
      if (d.mm.pv64) return pageWalk64(d.mm, Math.min(vcpu, d.vcpus.length - 1), args[0] ?? "");
      const va = Number.parseInt(args[0] ?? "", 16);
      if (!Number.isFinite(va) || va < 0 || va > 0xffffffff) return "usage: pagewalk VA (hex)";
      return showPageWalk(d.mm, Math.min(vcpu, d.vcpus.length - 1), va).join("\n");
    }
    case "p2m": {
      const pfn = Number.parseInt(args[0] ?? "", 16);
      if (!Number.isFinite(pfn) || pfn < 0) return "usage: p2m PFN (hex)";
      if (pfn >= d.p2m.maxPfns) return `pfn ${hex(pfn)} is beyond the domain's p2m`;
      const mfn: number = d.p2m.get(asGfn(pfn));
      return mfn === INVALID_MFN
        ? `pfn ${hex(pfn)} -> not populated`
        : `pfn ${hex(pfn)} -> mfn ${hex(mfn)} (${m.host.frames.describe(mfn)})`;
    }
    case "xenstore": {
      if (!ctx.store) return "no xenstore attached";
      const root = args[0] ?? `/local/domain/${d.domid}`;
      const out: string[] = [];
      storeTree(ctx.store, root, 0, out);
      return out.length ? out.join("\n") : `${root}: no such node`;
    }
    case "trace": {
      if (!ctx.trace) return "no trace ring";
      const n = args[0] ? Number(args[0]) : 20;
      if (!Number.isInteger(n) || n < 1) return "usage: trace [N]";
      const recs = ctx.trace.last(Math.min(n, 4096));
      return recs.map((r) => {
        const name = EVENT_NAMES.get(r.event) ?? `event ${hex(r.event)}`;
        return `${r.tsc} d${r.dom}v${r.vcpu} ${name} ${r.data.map(hex).join(" ")}`.trimEnd();
      }).join("\n") || "no records";
    }
    default:
      return `unknown monitor command "${cmd}"; try "monitor help"`;
  }
}

const KINDS: Record<number, string> = {
  [ECS_UNBOUND]: "unbound",
  [ECS_INTERDOMAIN]: "interdomain",
  [ECS_PIRQ]: "pirq",
  [ECS_VIRQ]: "virq",
  [ECS_IPI]: "ipi",
  [ECS_RESERVED]: "reserved",
};

function evtchnLines(m: Machine): string[] {
  const ev = m.domain.evtchn;
  if (!ev) return [];
  const out: string[] = [];
  for (let p = 1; p < ev.maxPorts; p++) {
    const s = ev.state(p);
    if (s === ECS_FREE) continue;
    let peer = "";
    if (s === ECS_INTERDOMAIN || s === ECS_UNBOUND) {
      peer = ` remote d${ev.remoteDom(p)}` +
        (s === ECS_INTERDOMAIN ? ` port ${ev.remotePort(p)}` : "");
    } else if (s === ECS_VIRQ) peer = ` virq ${ev.virqOf(p)}`;
    out.push(
      `port ${p}: ${KINDS[s] ?? s}${peer} vcpu ${ev.notifyVcpu(p)} ` +
        `pending ${ev.shared.isPending(p) ? 1 : 0} masked ${ev.shared.isMasked(p) ? 1 : 0}`,
    );
  }
  return out;
}

function grantLines(m: Machine, max: number): string[] {
  const g = m.domain.gnttab;
  if (!g) return [];
  const out: string[] = [];
  const lim = Number.isInteger(max) && max > 0 ? max : 64;
  for (let ref = 0; ref < g.nrEntries && out.length < lim; ref++) {
    const flags = g.entryFlags(ref);
    if ((flags & GTF_type_mask) === 0) continue;
    out.push(
      `ref ${ref}: flags ${hex(flags)} domid ${g.entryDomid(ref)} frame ${hex(g.entryFrame(ref))}` +
        ` pin ${hex(g.pin[ref] ?? 0)}`,
    );
  }
  return out;
}

function storeTree(s: XenStore, path: string, depth: number, out: string[]): void {
  if (out.length > 2000 || depth > 32) return;
  const v = s.read(path);
  const kids = s.directory(path);
  if (v === undefined && kids === undefined) return;
  const name = depth === 0 ? path : path.slice(path.lastIndexOf("/") + 1);
  out.push(`${"  ".repeat(depth)}${name} = ${JSON.stringify(v ?? "")}`);
  for (const k of kids ?? []) storeTree(s, path === "/" ? `/${k}` : `${path}/${k}`, depth + 1, out);
}

/**
 * The 4-level walk of a 64-bit address on a 64-bit vcpu (the base its walker uses now),
 * one line per level as Xen's show_page_walk prints it; read-only.
 */
function pageWalk64(mm: PagingDomain, vcpu: number, text: string): string {
  const t = text.replace(/^0x/i, "");
  if (!/^[0-9a-f]{1,16}$/i.test(t)) return "usage: pagewalk VA (hex)";
  const va = BigInt("0x" + t);
  const w = mm.lmWalkers[vcpu];
  const cr3 = w?.cr3 ?? -1;
  const out = [
    `Pagetable walk from ${hex64(Number(va & 0xffffffffn), Number(va >> 32n))} ` +
    `(d${mm.domid}v${vcpu}, cr3 ${cr3 < 0 ? "none" : hex(cr3)})`,
  ];
  const top = va >> 47n;
  if (top !== 0n && top !== 0x1ffffn) return [...out, "  not canonical"].join("\n");
  if (cr3 < 0) return out.join("\n");
  const f = mm.frames;
  let frame = Math.floor(cr3 / 4096);
  for (let level = 4; level >= 1; level--) {
    if (frame >= f.count) {
      out.push(` L${level} table frame ${hex(frame)} is not RAM`);
      break;
    }
    const slot = Number((va >> BigInt(12 + 9 * (level - 1))) & 511n);
    const lo = f.u32[frame * 1024 + slot * 2], hi = f.u32[frame * 1024 + slot * 2 + 1];
    const next = (lo >>> 12) + (hi & 0xfffff) * 0x100000;
    out.push(
      ` L${level}[0x${slot.toString(16).padStart(3, "0")}] = ${hex64(lo, hi)} mfn ${hex(next)}`,
    );
    if (!(lo & 1)) {
      out.push("  not present");
      break;
    }
    frame = next;
  }
  return out.join("\n");
}
