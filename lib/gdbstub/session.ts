/**
 * The GDB remote protocol session (all-stop): one client connection at a time over a
 * {@link Connection}, the packets Debian's gdb sends (qSupported, no-ack mode, target
 * descriptions, registers, memory, Z/z points, c/s/vCont, Ctrl-C, threads, D, k, qRcmd)
 * answered from a {@link DebugTarget}. Every malformed or out-of-order packet gets an
 * error reply; nothing a client sends throws. The target's run state outlives a client:
 * a client that disconnects leaves the domain paused or running as it was.
 * @module
 */
import { encodePacket, MAX_PACKET, PacketDecoder, unescapeBinary } from "./packet.ts";
import { fromHex, hexToString, parseHexInt, parseHexNumber, stringToHex, toHex } from "./hex.ts";
import { gLayout, targetXml } from "./registers.ts";
import type { DebugTarget, ResumeAction, StopEvent } from "./target.ts";
import { handlePointPacket } from "./points.ts";
import { parseVCont } from "./vcont.ts";

/** A byte stream to one client. */
export interface Connection {
  /** The next bytes, or null at end of stream. */
  read(): Promise<Uint8Array | null>;
  /** Sends bytes (errors are swallowed: a dead client ends the session at the next read). */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the stream. */
  close(): void;
}

/** SIGINT, SIGTRAP: the signals of a stop. */
export const SIGINT = 2, SIGTRAP = 5;

/** Why a session ended. */
export type SessionEnd = "detached" | "killed" | "ended" | "disconnected";

const E_INVAL = "E16", E_FAULT = "E0e", E_NOENT = "E02", E_BUSY = "E10";

/** The protocol side of `pvx boot --gdb`: serves clients against the current target. */
export class GdbSession {
  /** The domain being debugged (one target for its whole life, reboots included). */
  readonly target: DebugTarget;
  /** The target's resume in progress, if running. */
  #running: Promise<StopEvent> | null = null;
  #last: StopEvent;
  #ended = false;
  #onEnd: Array<() => void> = [];
  /** Per client. */
  #noAck = false;
  #features = new Set<string>();
  #gVcpu = -1;
  #cVcpu = -1;
  #lastSent: Uint8Array | null = null;
  #conn: Connection | null = null;
  readonly #log: (line: string) => void;

  /**
   * @param target the domain, paused
   * @param log where protocol notes go (a client's disconnect...)
   */
  constructor(target: DebugTarget, log: (line: string) => void = () => {}) {
    this.target = target;
    this.#last = target.lastStop();
    this.#log = log;
  }

  /** Whether the domain has ended (exited, crashed for good, killed). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the target is running (resumed, no stop seen yet). */
  get running(): boolean {
    return this.#running !== null;
  }

  /** Resolves when the domain ends. */
  whenEnded(): Promise<void> {
    return this.#ended ? Promise.resolve() : new Promise((r) => this.#onEnd.push(r));
  }

  /** Resumes the target without a client asking (`--gdb` without `--gdb-wait`). */
  resumeFree(): void {
    if (this.#running === null && !this.#ended) this.#resume({ step: -1 });
  }

  #resume(a: ResumeAction): Promise<StopEvent> {
    const p: Promise<StopEvent> = this.target.resume(a).then((ev) => {
      // a connected client's loop takes the stop (and sends its reply) itself
      if (this.#conn === null && this.#running === p) this.#running = null;
      this.#last = ev;
      if (ev.kind !== "stopped") this.#end();
      return ev;
    });
    this.#running = p;
    return p;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const f of this.#onEnd.splice(0)) f();
  }

  /** Ends the session as a kill would (pvx shutting down). */
  markEnded(): void {
    this.#end();
  }

  /**
   * Serves one client until it detaches, kills, disconnects or the domain ends.
   * A running domain is stopped first, as a debugger attaching expects.
   */
  async serve(conn: Connection): Promise<SessionEnd> {
    this.#conn = conn;
    this.#noAck = false;
    this.#features.clear();
    this.#gVcpu = this.#cVcpu = -1;
    this.#lastSent = null;
    try {
      return await this.#loop(conn);
    } finally {
      this.#conn = null;
      conn.close();
    }
  }

  async #loop(conn: Connection): Promise<SessionEnd> {
    if (this.#running !== null) {
      this.target.interrupt();
      await this.#running;
      this.#running = null;
    }
    const dec = new PacketDecoder(MAX_PACKET);
    let reading = conn.read();
    let waitingStop = false;
    // The last packet handled, until the client acknowledges what it got back: gdb sends a
    // packet again when our '+' is late (a busy stub), and answering both copies would put
    // every later reply one packet behind (gdb: "Remote replied unexpectedly to ...").
    let unacked: string | null = null;
    for (;;) {
      const running: Promise<StopEvent> | null = this.#running as Promise<StopEvent> | null;
      const got = running
        ? await Promise.race([
          running.then((ev) => ({ bytes: undefined, stop: ev })),
          reading.then((b) => ({ bytes: b, stop: null })),
        ])
        : { bytes: await reading, stop: null };
      if (got.stop !== null) {
        this.#running = null;
        // the stop reply gdb waits for since its c/s
        if (waitingStop) await this.#send(stopReply(got.stop, this.#features));
        waitingStop = false;
        if (got.stop.kind !== "stopped") return "ended";
        continue;
      }
      const bytes = got.bytes ?? null;
      if (bytes === null) {
        if (dec.midPacket) this.#log("gdb: the client disconnected mid-packet");
        else this.#log("gdb: the client disconnected");
        return "disconnected";
      }
      reading = conn.read();
      for (const ev of dec.push(bytes)) {
        if (ev.kind === "ack") {
          unacked = null;
          continue;
        }
        if (ev.kind === "nack") {
          if (this.#lastSent && !this.#noAck) await conn.write(this.#lastSent);
          continue;
        }
        if (ev.kind === "interrupt") {
          if (this.#running !== null) this.target.interrupt();
          continue;
        }
        if (ev.kind === "overflow") {
          if (!this.#noAck) await conn.write(ACK);
          await this.#send(E_INVAL);
          continue;
        }
        if (!ev.ok) {
          if (!this.#noAck) await conn.write(NACK);
          else await this.#send(E_INVAL);
          continue;
        }
        if (!this.#noAck) await conn.write(ACK);
        if (!this.#noAck) {
          const text = latin1(ev.payload);
          if (text === unacked) continue; // a retransmission: acknowledged, already answered
          unacked = text;
        }
        if (this.#running !== null) {
          // out of order: a packet while the target runs (all-stop allows only Ctrl-C)
          await this.#send(E_BUSY);
          continue;
        }
        const out = this.#handle(ev.payload);
        if (out.reply !== undefined) await this.#send(out.reply);
        if (out.noAck) this.#noAck = true;
        if (out.end) {
          if (out.end === "detached") this.target.detach(true);
          if (out.end === "killed") {
            this.target.kill();
            this.#end();
          }
          return out.end;
        }
        if (out.resume) {
          if (this.#ended) {
            await this.#send(stopReply(this.#last, this.#features));
            return "ended";
          }
          this.#resume(out.resume);
          waitingStop = true;
        }
      }
    }
  }

  async #send(reply: string | Uint8Array): Promise<void> {
    const pkt = encodePacket(reply);
    this.#lastSent = pkt;
    await this.#conn?.write(pkt);
  }

  /** The vcpu for register/memory access (Hg), defaulting to the one that stopped. */
  #regVcpu(): number {
    if (this.#gVcpu >= 0) return this.#gVcpu;
    return this.#last.kind === "stopped" ? this.#last.vcpu : 0;
  }

  /** Parses a thread id: -1 all, 0 any, else vcpu+1. Returns -2 when malformed/unknown. */
  #thread(text: string): number {
    if (text === "-1" || text === "0") return -1;
    const n = parseHexInt(text, 0x10000);
    if (n <= 0 || !this.target.vcpus().includes(n - 1)) return -2;
    return n - 1;
  }

  #handle(payload: Uint8Array): HandleResult {
    const p = latin1(payload);
    const t = this.target;
    const c = p[0] ?? "";
    switch (c) {
      case "?":
        return { reply: stopReply(this.#last, this.#features) };
      case "g":
        return p.length === 1 ? { reply: this.#readAllRegs() } : { reply: E_INVAL };
      case "G":
        return { reply: this.#writeAllRegs(p.slice(1)) };
      case "p":
        return { reply: this.#readReg(p.slice(1)) };
      case "P":
        return { reply: this.#writeReg(p.slice(1)) };
      case "m":
        return { reply: this.#readMem(p.slice(1), false) };
      case "x":
        return { reply: this.#readMem(p.slice(1), true) };
      case "M":
        return { reply: this.#writeMemHex(p.slice(1)) };
      case "X":
        return { reply: this.#writeMemBin(payload) };
      case "Z":
      case "z":
        return { reply: handlePointPacket(t, p) };
      case "c":
      case "C":
      case "s":
      case "S":
        return this.#resumePacket(p);
      case "H": {
        const v = this.#thread(p.slice(2));
        if (v === -2 || (p[1] !== "g" && p[1] !== "c")) return { reply: E_NOENT };
        if (p[1] === "g") this.#gVcpu = v;
        else this.#cVcpu = v;
        return { reply: "OK" };
      }
      case "T":
        return { reply: this.#thread(p.slice(1)) >= 0 ? "OK" : E_NOENT };
      case "D":
        return { reply: "OK", end: "detached" };
      case "k":
        return { end: "killed" };
      case "v":
        return this.#vPacket(p);
      case "q":
      case "Q":
        return { reply: this.#query(p), noAck: p === "QStartNoAckMode" };
      default:
        return { reply: "" };
    }
  }

  #resumePacket(p: string): HandleResult {
    // c [addr] / C sig[;addr] / s [addr] / S sig[;addr]
    let rest = p.slice(1);
    if (p[0] === "C" || p[0] === "S") {
      const semi = rest.indexOf(";");
      const sig = semi < 0 ? rest : rest.slice(0, semi);
      if (parseHexInt(sig, 0xff) < 0) return { reply: E_INVAL };
      rest = semi < 0 ? "" : rest.slice(semi + 1);
    }
    const vcpu = this.#cVcpu >= 0 ? this.#cVcpu : this.#regVcpu();
    if (rest !== "") {
      const addr = parseHexNumber(rest);
      const regs = this.target.registers(vcpu);
      const a = this.target.arch;
      const size = a.regs.find((d) => d.name === a.pc)!.bits / 8;
      if (addr === null || regs === null || !regs.write(a.pc, leBytesN(addr, size))) {
        return { reply: E_INVAL };
      }
    }
    const step = p[0] === "s" || p[0] === "S";
    return { resume: { step: step ? vcpu : -1 } };
  }

  #vPacket(p: string): HandleResult {
    if (p === "vCont?") return { reply: "vCont;c;C;s;S" };
    if (p.startsWith("vCont;")) {
      const a = parseVCont(p.slice(6), (th) => this.#thread(th));
      if (a === null) return { reply: E_INVAL };
      if (a.step === -1 && a.stepAny) {
        a.step = this.#cVcpu >= 0 ? this.#cVcpu : this.#regVcpu();
      }
      return { resume: { step: a.step } };
    }
    if (p.startsWith("vKill")) return { reply: "OK", end: "killed" };
    if (p === "vMustReplyEmpty") return { reply: "" };
    return { reply: "" };
  }

  #query(p: string): string {
    const t = this.target;
    if (p.startsWith("qSupported")) {
      this.#features.clear();
      const colon = p.indexOf(":");
      if (colon >= 0) {
        for (const f of p.slice(colon + 1).split(";")) {
          if (f.endsWith("+")) this.#features.add(f.slice(0, -1));
        }
      }
      return [
        `PacketSize=${MAX_PACKET.toString(16)}`,
        "QStartNoAckMode+",
        "qXfer:features:read+",
        "swbreak+",
        "hwbreak+",
        "vContSupported+",
      ].join(";");
    }
    if (p === "QStartNoAckMode") return "OK";
    if (p === "qAttached") return "1";
    if (p === "qC") {
      const v = this.#last.kind === "stopped" ? this.#last.vcpu : 0;
      return `QC${(v + 1).toString(16)}`;
    }
    if (p === "qfThreadInfo") return "m" + t.vcpus().map((v) => (v + 1).toString(16)).join(",");
    if (p === "qsThreadInfo") return "l";
    if (p.startsWith("qThreadExtraInfo,")) {
      const v = this.#thread(p.slice(17));
      return v >= 0 ? stringToHex(t.vcpuInfo(v)) : E_NOENT;
    }
    if (p.startsWith("qXfer:features:read:")) return this.#xferFeatures(p.slice(20));
    if (p.startsWith("qRcmd,")) {
      const cmd = hexToString(p.slice(6));
      if (cmd === null) return E_INVAL;
      const out = t.monitor(cmd.trim());
      return out === "" ? "OK" : stringToHex(out.endsWith("\n") ? out : out + "\n");
    }
    if (p === "qSymbol::") return "OK";
    return "";
  }

  #xferFeatures(rest: string): string {
    // ANNEX:OFFSET,LENGTH
    const colon = rest.lastIndexOf(":");
    const annex = rest.slice(0, colon);
    const range = parseRange(rest.slice(colon + 1));
    if (colon < 0 || range === null) return E_INVAL;
    if (annex !== "target.xml") return E_NOENT;
    const xml = targetXml(this.target.arch);
    const [off, len] = range;
    if (off > xml.length) return E_INVAL;
    const chunk = xml.slice(off, off + Math.min(len, MAX_PACKET - 16));
    return (off + chunk.length >= xml.length ? "l" : "m") + chunk;
  }

  #readAllRegs(): string {
    const regs = this.target.registers(this.#regVcpu());
    if (regs === null) return E_NOENT;
    let s = "";
    for (const d of this.target.arch.regs) {
      const b = regs.read(d.name);
      s += b !== null && b.length === d.bits / 8 ? toHex(b) : "xx".repeat(d.bits / 8);
    }
    return s;
  }

  #writeAllRegs(hex: string): string {
    const a = this.target.arch;
    const { offsets, size } = gLayout(a);
    const bytes = fromHex(hex);
    if (bytes === null || bytes.length !== size) return E_INVAL;
    const regs = this.target.registers(this.#regVcpu());
    if (regs === null) return E_NOENT;
    let ok = true;
    a.regs.forEach((d, i) => {
      ok = regs.write(d.name, bytes.subarray(offsets[i], offsets[i] + d.bits / 8)) && ok;
    });
    return ok ? "OK" : E_INVAL;
  }

  #readReg(text: string): string {
    const n = parseHexInt(text, 0xffff);
    const d = this.target.arch.regs[n];
    if (n < 0 || d === undefined) return E_INVAL;
    const regs = this.target.registers(this.#regVcpu());
    if (regs === null) return E_NOENT;
    const b = regs.read(d.name);
    return b !== null && b.length === d.bits / 8 ? toHex(b) : "xx".repeat(d.bits / 8);
  }

  #writeReg(text: string): string {
    const eq = text.indexOf("=");
    const n = parseHexInt(text.slice(0, eq), 0xffff);
    const d = this.target.arch.regs[n];
    const bytes = fromHex(text.slice(eq + 1));
    if (eq < 0 || n < 0 || d === undefined || bytes === null || bytes.length !== d.bits / 8) {
      return E_INVAL;
    }
    const regs = this.target.registers(this.#regVcpu());
    if (regs === null) return E_NOENT;
    return regs.write(d.name, bytes) ? "OK" : E_INVAL;
  }

  #readMem(text: string, binary: boolean): string | Uint8Array {
    const range = parseAddrLen(text);
    if (range === null) return E_INVAL;
    const [addr, len] = range;
    // the reply must fit a packet (hex doubles, binary may escape every byte)
    const max = binary ? (MAX_PACKET - 8) >> 1 : (MAX_PACKET - 8) >> 1;
    const data = this.target.readMemory(this.#regVcpu(), addr, Math.min(len, max));
    if (len === 0) return binary ? "b" : "";
    if (data.length === 0) return E_FAULT;
    if (!binary) return toHex(data);
    const out = new Uint8Array(data.length + 1);
    out[0] = 0x62; // 'b'
    out.set(data, 1);
    return out;
  }

  #writeMemHex(text: string): string {
    const colon = text.indexOf(":");
    const range = colon < 0 ? null : parseAddrLen(text.slice(0, colon));
    const data = fromHex(text.slice(colon + 1));
    if (range === null || data === null || data.length !== range[1]) return E_INVAL;
    if (data.length === 0) return "OK";
    return this.target.writeMemory(this.#regVcpu(), range[0], data) ? "OK" : E_FAULT;
  }

  #writeMemBin(payload: Uint8Array): string {
    const colon = payload.indexOf(0x3a);
    const range = colon < 0 ? null : parseAddrLen(latin1(payload.subarray(1, colon)));
    const data = colon < 0 ? null : unescapeBinary(payload.subarray(colon + 1));
    if (range === null || data === null || data.length !== range[1]) return E_INVAL;
    if (data.length === 0) return "OK";
    return this.target.writeMemory(this.#regVcpu(), range[0], data) ? "OK" : E_FAULT;
  }
}

interface HandleResult {
  reply?: string | Uint8Array;
  resume?: ResumeAction;
  end?: "detached" | "killed";
  noAck?: boolean;
}

const ACK = new Uint8Array([0x2b]);
const NACK = new Uint8Array([0x2d]);

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}

function leBytesN(v: bigint, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** ADDR,LEN with LEN a sane size. */
function parseAddrLen(text: string): [bigint, number] | null {
  const comma = text.indexOf(",");
  if (comma < 0) return null;
  const addr = parseHexNumber(text.slice(0, comma));
  const len = parseHexInt(text.slice(comma + 1), 0x7fffffff);
  return addr === null || len < 0 ? null : [addr, len];
}

function parseRange(text: string): [number, number] | null {
  const comma = text.indexOf(",");
  if (comma < 0) return null;
  const off = parseHexInt(text.slice(0, comma), 0x7fffffff);
  const len = parseHexInt(text.slice(comma + 1), 0x7fffffff);
  return off < 0 || len < 0 ? null : [off, len];
}

/**
 * The stop reply of an event: T with the thread (and what hit when the client
 * understands it), W for an exit, X for a termination.
 */
export function stopReply(ev: StopEvent, features: ReadonlySet<string>): string {
  if (ev.kind === "exited") return `W${hex2(ev.code)}`;
  if (ev.kind === "terminated") return `X${hex2(ev.signal)}`;
  let s = `T${hex2(ev.signal)}thread:${(ev.vcpu + 1).toString(16)};`;
  if (ev.why === "swbreak" || ev.why === "hwbreak") {
    if (features.has(ev.why)) s += `${ev.why}:;`;
  } else if (ev.why !== undefined) {
    s += `${ev.why}:${(ev.dataAddress ?? 0n).toString(16)};`;
  }
  return s;
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}
