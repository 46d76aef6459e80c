/// <reference lib="dom" />
/**
 * The page: wires the controls, the terminal (xterm.js), the live views and the downloads
 * to a {@link Session}. `globalThis.pvxPage` exposes the screen text and the run's state
 * for the browser tests.
 * @module
 */
import { Terminal } from "@xterm/xterm";
import { InputError } from "../../lib/errors.ts";
import type { MemoryDiskImage } from "../../lib/blkfront/disk_image.ts";
import { Session, type SessionEnd } from "./session.ts";
import { PageConsole } from "./page_console.ts";
import { examineInWorker, examineKernel, type KernelChoice, loadKernel } from "./kernel_file.ts";
import { renderEvtchns, renderXenstore } from "./state_view.ts";
import { download, openInPerfetto, traceToPerfetto } from "./downloads.ts";
import { blankDisk, diskBytes, loadFromOpfs, memoryDisk, saveToOpfs } from "./disk_store.ts";
import { hypercallName } from "../../lib/trace/describe.ts";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const el = {
  status: $<HTMLDivElement>("status"),
  kernelSource: $<HTMLSelectElement>("kernel-source"),
  kernelFile: $<HTMLInputElement>("kernel-file"),
  drop: $<HTMLDivElement>("drop"),
  cmdline: $<HTMLInputElement>("cmdline"),
  memory: $<HTMLInputElement>("memory"),
  vcpus: $<HTMLInputElement>("vcpus"),
  diskSource: $<HTMLSelectElement>("disk-source"),
  diskFile: $<HTMLInputElement>("disk-file"),
  net: $<HTMLInputElement>("net"),
  trace: $<HTMLInputElement>("trace"),
  record: $<HTMLInputElement>("record"),
  boot: $<HTMLButtonElement>("boot"),
  stop: $<HTMLButtonElement>("stop"),
  error: $<HTMLDivElement>("error"),
  inspect: $<HTMLPreElement>("inspect"),
  xenstore: $<HTMLPreElement>("xenstore"),
  evtchn: $<HTMLPreElement>("evtchn"),
  hypercalls: $<HTMLPreElement>("hypercalls"),
  stats: $<HTMLDivElement>("stats"),
  dlTrace: $<HTMLButtonElement>("dl-trace"),
  dlPerfetto: $<HTMLButtonElement>("dl-perfetto"),
  openPerfetto: $<HTMLButtonElement>("open-perfetto"),
  dlPcap: $<HTMLButtonElement>("dl-pcap"),
  dlRecording: $<HTMLButtonElement>("dl-recording"),
  dlDisk: $<HTMLButtonElement>("dl-disk"),
};

const term = new Terminal({
  cols: 100,
  rows: 32,
  scrollback: 5000,
  convertEol: true,
  fontSize: 13,
});
term.open($("terminal"));

/** The page's state, for the tests and the console. */
const page = {
  state: "idle" as "idle" | "booting" | "running" | "ended",
  error: "",
  end: null as SessionEnd | null,
  kernel: null as KernelChoice | null,
  builtin: null as KernelChoice | null,
  session: null as Session | null,
  disk: null as MemoryDiskImage | null,
  diskName: "disk.img",
  transcript: "",
  /** [ms since boot, transcript length] per output chunk. */
  marks: [] as [number, number][],
  bootedAt: 0,
  /** Milliseconds from Boot to the end of the run. */
  endMs: -1,
  /** Live-view refreshes so far (a timer of the page: it runs only when the emulator yields). */
  refreshes: 0,
  /** The guest's instruction count every 25 ms during the current run (a page timer). */
  samples: [] as number[],
  /** Everything on the terminal (scrollback included), one line each. */
  screen(): string {
    const b = term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  },
  /** Sizes of the last run's outputs (bytes; -1: not collected). */
  outputs(): { trace: number; pcap: number; recording: number } {
    const s = lastSession;
    s?.flushTrace();
    return {
      trace: s?.traceBytes?.size ?? -1,
      pcap: s?.pcapBytes?.size ?? -1,
      recording: s?.recordingBytes?.size ?? -1,
    };
  },
  /** One output of the last run, base64 (what its download button saves). */
  outputBase64(which: "trace" | "pcap" | "recording"): string {
    const s = lastSession;
    s?.flushTrace();
    const c = which === "trace"
      ? s?.traceBytes
      : which === "pcap"
      ? s?.pcapBytes
      : s?.recordingBytes;
    const b = c?.bytes() ?? new Uint8Array(0);
    let bin = "";
    for (let i = 0; i < b.length; i += 0x8000) {
      bin += String.fromCharCode(...b.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  },
  /** Milliseconds from Boot to the output that first contained `text` (-1: not yet). */
  timeTo(text: string): number {
    const at = page.transcript.indexOf(text);
    if (at < 0) return -1;
    for (const [ms, len] of page.marks) if (len >= at + text.length) return ms;
    return -1;
  },
};
(globalThis as unknown as { pvxPage: typeof page }).pvxPage = page;

function showError(msg: string): void {
  page.error = msg;
  el.error.textContent = msg ? `pvx: ${msg}` : "";
}

function setStatus(s: string): void {
  el.status.textContent = s;
}

async function builtinKernel(): Promise<KernelChoice> {
  if (page.builtin) return page.builtin;
  const r = await fetch("pvx-guest.elf");
  if (!r.ok) throw new Error(`the built-in guest is missing (${r.status})`);
  page.builtin = examineKernel("pvx-guest (built in)", new Uint8Array(await r.arrayBuffer()));
  return page.builtin;
}

async function chooseKernel(f: File): Promise<void> {
  showError("");
  try {
    el.inspect.textContent = `inspecting ${f.name} ...`;
    page.kernel = await loadKernel(f, examineInWorker(new URL("inspect-worker.js", location.href)));
    el.kernelSource.value = "file";
    el.inspect.textContent = page.kernel.text;
    const problem = page.kernel.problem;
    if (problem) showError(problem);
  } catch (e) {
    page.kernel = null;
    el.inspect.textContent = "";
    showError(errorText(e));
  }
}

async function chooseDisk(f: File): Promise<void> {
  showError("");
  try {
    page.disk = memoryDisk(new Uint8Array(await f.arrayBuffer()), f.name);
    page.diskName = f.name;
    el.diskSource.value = "file";
    el.dlDisk.disabled = false;
  } catch (e) {
    page.disk = null;
    showError(errorText(e));
  }
}

function errorText(e: unknown): string {
  if (e instanceof InputError) return e.message;
  return `internal error: ${e instanceof Error ? e.message : String(e)}`;
}

async function diskForBoot(): Promise<MemoryDiskImage | null> {
  switch (el.diskSource.value) {
    case "none":
      return null;
    case "file":
      if (!page.disk) throw new InputError("Cannot boot: choose a disk image file first");
      return page.disk;
    case "opfs": {
      const saved = await loadFromOpfs();
      page.diskName = "pvx-disk.img";
      return saved ? memoryDisk(saved, "pvx-disk.img (OPFS)") : blankDisk(4);
    }
    default:
      page.diskName = "disk.img";
      return blankDisk(4);
  }
}

async function boot(): Promise<void> {
  if (page.session) return;
  showError("");
  page.state = "booting";
  try {
    const kernel = el.kernelSource.value === "file" ? page.kernel : await builtinKernel();
    if (!kernel) throw new InputError("Cannot boot: choose a kernel image first");
    el.inspect.textContent = kernel.text;
    const problem = kernel.problem;
    if (problem) throw new InputError(problem);
    const memory = Number(el.memory.value);
    const vcpus = Number(el.vcpus.value);
    if (!Number.isInteger(memory) || memory < 16 || memory > 512) {
      throw new InputError("Cannot boot: memory must be 16 to 512 MiB");
    }
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 8) {
      throw new InputError("Cannot boot: vcpus must be 1 to 8");
    }
    const disk = await diskForBoot();
    page.disk = disk;
    term.reset();
    page.transcript = "";
    page.marks = [];
    page.samples = [];
    page.end = null;
    page.bootedAt = performance.now();
    const dec = new TextDecoder();
    const console = new PageConsole(term, (b) => {
      page.transcript += dec.decode(b, { stream: true });
      page.marks.push([performance.now() - page.bootedAt, page.transcript.length]);
    });
    const log = (line: string) =>
      term.write(`\r\n\x1b[33m${line.replace(/\n/g, "\r\n")}\x1b[0m\r\n`);
    const s = new Session({
      image: kernel.bytes,
      imageName: kernel.name,
      cmdline: el.cmdline.value,
      memoryMiB: memory,
      vcpus,
      disk,
      diskName: page.diskName,
      net: el.net.checked,
      trace: el.trace.checked,
      recordRings: el.record.checked,
      reboot: true,
      console,
      log,
    });
    page.session = s;
    lastSession = s;
    page.state = "running";
    setButtons(true);
    term.focus();
    const end = await s.done;
    page.endMs = performance.now() - page.bootedAt;
    await console.close();
    if (el.diskSource.value === "opfs" && disk) {
      if (!(await saveToOpfs(await diskBytes(disk)))) {
        showError("Cannot keep the disk: this browser offers no OPFS storage here");
      }
    }
    page.end = end;
    page.state = "ended";
    setStatus(`${end.reason} (exit code ${end.exitCode})`);
  } catch (e) {
    page.state = "ended";
    showError(errorText(e));
    setStatus("error");
  } finally {
    page.session = null;
    setButtons(false);
    refresh();
  }
}

function setButtons(running: boolean): void {
  el.boot.disabled = running;
  el.stop.disabled = !running;
  const s = lastSession;
  el.dlTrace.disabled = !s?.traceBytes;
  el.dlPerfetto.disabled = !s?.traceBytes;
  el.openPerfetto.disabled = !s?.traceBytes;
  el.dlPcap.disabled = !s?.pcapBytes;
  el.dlRecording.disabled = !s?.recordingBytes;
  el.dlDisk.disabled = !page.disk;
}

let lastSession: Session | null = null;
let lastInstr = 0;
let lastTime = performance.now();

/** Redraws the status line and the live views. */
function refresh(): void {
  page.refreshes++;
  const s = page.session ?? lastSession;
  if (page.session) lastSession = page.session;
  if (!s) return;
  const m = s.machine;
  const now = performance.now();
  if (m) {
    const n = m.instructions;
    const mips = (n - lastInstr) / ((now - lastTime) * 1000);
    lastInstr = n;
    lastTime = now;
    if (page.state === "running") setStatus(`running: ${(n / 1e6).toFixed(1)} M instructions`);
    const net = s.network.responders.get("xenbr0")?.stats;
    el.stats.textContent =
      `${(n / 1e6).toFixed(2)} M instructions, ${mips > 0 ? mips.toFixed(1) : "0.0"} MIPS, ${
        ((now - s.startedAt) / 1000).toFixed(1)
      } s` +
      (net
        ? ` | host 10.0.0.1 answered ${net.arpReplies} ARP, ${net.echoReplies} ping, ${net.udpEchoes} UDP`
        : "") +
      (s.traceBytes ? ` | trace: ${s.events.records} records` : "");
    const dev = s.devices;
    if (dev) {
      el.xenstore.textContent = renderXenstore(dev.store);
      el.evtchn.textContent = renderEvtchns([dev.deviceHost.dom0Evtchn, m.domain.evtchn], s.events);
    }
    const hc: string[] = [];
    s.events.hypercalls.forEach((c, nr) => {
      if (c > 0) hc.push(`${hypercallName(nr).padEnd(22)} ${c}`);
    });
    el.hypercalls.textContent = hc.join("\n");
  }
}
setInterval(refresh, 500);
// a page timer: it runs between the emulator's slices only if the emulator yields
setInterval(() => {
  const m = page.session?.machine;
  if (page.state === "running" && m) page.samples.push(m.instructions);
}, 25);

el.boot.onclick = () => void boot();
el.stop.onclick = () => page.session?.stop();
el.kernelSource.onchange = () => {
  if (el.kernelSource.value === "file" && !page.kernel) el.kernelFile.click();
};
el.kernelFile.onchange = () => {
  const f = el.kernelFile.files?.[0];
  if (f) void chooseKernel(f);
};
el.diskSource.onchange = () => {
  if (el.diskSource.value === "file") el.diskFile.click();
};
el.diskFile.onchange = () => {
  const f = el.diskFile.files?.[0];
  if (f) void chooseDisk(f);
};
for (const target of [el.drop, document.body]) {
  target.addEventListener("dragover", (e) => {
    e.preventDefault();
    el.drop.classList.add("over");
  });
  target.addEventListener("dragleave", () => el.drop.classList.remove("over"));
  target.addEventListener("drop", (e) => {
    e.preventDefault();
    el.drop.classList.remove("over");
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    if (/\.(img|raw|iso)$/i.test(f.name)) void chooseDisk(f);
    else void chooseKernel(f);
  });
}

const stem = () =>
  (page.kernel && el.kernelSource.value === "file" ? page.kernel.name : "pvx-guest")
    .replace(/[^\w.-]+/g, "_");
el.dlTrace.onclick = () => {
  const s = lastSession;
  s?.flushTrace();
  if (s?.traceBytes) download(s.traceBytes.bytes(), `${stem()}.xentrace`);
};
el.dlPerfetto.onclick = async () => {
  const s = lastSession;
  s?.flushTrace();
  if (s?.traceBytes) {
    download(await traceToPerfetto(s.traceBytes.bytes()), `${stem()}.json`, "application/json");
  }
};
el.openPerfetto.onclick = async () => {
  const s = lastSession;
  s?.flushTrace();
  if (!s?.traceBytes) return;
  try {
    openInPerfetto(await traceToPerfetto(s.traceBytes.bytes()), stem());
  } catch (e) {
    showError(errorText(e));
  }
};
el.dlPcap.onclick = () => {
  const s = lastSession;
  if (s?.pcapBytes) download(s.pcapBytes.bytes(), `${stem()}.pcap`);
};
el.dlRecording.onclick = () => {
  const s = lastSession;
  if (s?.recordingBytes) download(s.recordingBytes.bytes(), `${stem()}.pvxrec`);
};
el.dlDisk.onclick = async () => {
  if (page.disk) download(await diskBytes(page.disk), page.diskName);
};

builtinKernel().then((k) => {
  if (el.kernelSource.value === "builtin") el.inspect.textContent = k.text;
}).catch((e) => showError(errorText(e)));
if (new URLSearchParams(location.search).has("autoboot")) void boot();
