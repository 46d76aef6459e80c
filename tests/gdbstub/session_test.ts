import assert from "node:assert/strict";
import { type Connection, GdbSession } from "../../lib/gdbstub/session.ts";
import { encodePacket, PacketDecoder } from "../../lib/gdbstub/packet.ts";
import { gLayout, I386, type RegisterAccess } from "../../lib/gdbstub/registers.ts";
import type { DebugTarget, ResumeAction, StopEvent } from "../../lib/gdbstub/target.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

/** A two-vcpu fake: 64 KiB of memory mapped at 0x1000, registers in a map. */
class FakeTarget implements DebugTarget {
  arch = I386;
  mem = new Uint8Array(0x10000);
  regs = new Map<string, Uint8Array>();
  points: string[] = [];
  resumes: ResumeAction[] = [];
  release: ((e: StopEvent) => void) | null = null;
  killed = false;
  detached = false;
  vcpus() {
    return [0, 1];
  }
  vcpuInfo(v: number) {
    return `vcpu${v} runnable`;
  }
  registers(v: number): RegisterAccess | null {
    if (v > 1) return null;
    return {
      read: (n) =>
        this.regs.get(`${v}:${n}`) ?? new Uint8Array(I386.regs.find((d) => d.name === n)!.bits / 8),
      write: (n, b) => (this.regs.set(`${v}:${n}`, b.slice()), true),
    };
  }
  readMemory(_v: number, addr: bigint, len: number) {
    const out: number[] = [];
    for (let i = 0; i < len; i++) {
      const a = Number(addr) + i;
      if (a < 0x1000 || a >= 0x1000 + this.mem.length) break;
      out.push(this.mem[a - 0x1000]);
    }
    return new Uint8Array(out);
  }
  writeMemory(_v: number, addr: bigint, data: Uint8Array) {
    const a = Number(addr);
    if (a < 0x1000 || a + data.length > 0x1000 + this.mem.length) return false;
    this.mem.set(data, a - 0x1000);
    return true;
  }
  insertPoint(t: number, a: bigint, l: number) {
    this.points.push(`${t},${a},${l}`);
    return true;
  }
  removePoint(t: number, a: bigint, l: number) {
    const i = this.points.indexOf(`${t},${a},${l}`);
    if (i >= 0) this.points.splice(i, 1);
    return i >= 0;
  }
  resume(a: ResumeAction): Promise<StopEvent> {
    this.resumes.push(a);
    if (a.step >= 0) return Promise.resolve({ kind: "stopped", vcpu: a.step, signal: 5 });
    return new Promise((r) => (this.release = r));
  }
  interrupt() {
    this.release?.({ kind: "stopped", vcpu: 1, signal: 2 });
  }
  lastStop(): StopEvent {
    return { kind: "stopped", vcpu: 0, signal: 5 };
  }
  kill() {
    this.killed = true;
  }
  detach() {
    this.detached = true;
  }
  monitor(c: string) {
    return c === "help" ? "help text" : "";
  }
}

/** A scripted client: sends chunks, collects the reply payloads. */
class Pipe implements Connection {
  #in: Array<Uint8Array | null> = [];
  #wait: ((b: Uint8Array | null) => void) | null = null;
  out = new PacketDecoder(1 << 20);
  replies: string[] = [];
  acks = 0;
  send(s: string | Uint8Array | null) {
    const b = typeof s === "string" ? enc.encode(s) : s;
    if (this.#wait) {
      const w = this.#wait;
      this.#wait = null;
      w(b);
    } else this.#in.push(b);
  }
  packet(p: string) {
    if (!p.startsWith("X")) return this.send(encodePacket(p));
    // binary data is escaped by the sender already: frame it as it is
    let sum = 0;
    for (const c of enc.encode(p)) sum = (sum + c) & 0xff;
    this.send(`$${p}#${sum.toString(16).padStart(2, "0")}`);
  }
  read(): Promise<Uint8Array | null> {
    if (this.#in.length) return Promise.resolve(this.#in.shift()!);
    return new Promise((r) => (this.#wait = r));
  }
  write(b: Uint8Array): Promise<void> {
    for (const ev of this.out.push(b)) {
      if (ev.kind === "packet") this.replies.push(dec.decode(ev.payload));
      if (ev.kind === "ack") this.acks++;
    }
    return Promise.resolve();
  }
  close() {}
}

const tick = () => new Promise((r) => setTimeout(r, 0));

async function exchange(packets: string[]): Promise<{ t: FakeTarget; p: Pipe }> {
  const t = new FakeTarget();
  const s = new GdbSession(t);
  const p = new Pipe();
  const done = s.serve(p);
  for (const x of packets) p.packet(x);
  p.send(null);
  await done;
  return { t, p };
}

Deno.test("session: handshake, registers, memory, points, threads", async () => {
  const { t, p } = await exchange([
    "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
    "QStartNoAckMode",
    "?",
    "qfThreadInfo",
    "qsThreadInfo",
    "Hg2",
    "P8=78563412",
    "p8",
    "Hg1",
    "p8",
    "M1000,4:deadbeef",
    "m1000,4",
    "m0,4",
    "m10ffe,4",
    "X1004,2:}\x03}\x04",
    "m1004,2",
    "Z0,c000a2b0,1",
    "Z2,1000,4",
    "Z2,1000,3",
    "z0,c000a2b0,1",
    "z0,c000a2b0,1",
    "qXfer:features:read:target.xml:0,20",
    "qXfer:features:read:other.xml:0,20",
    "qRcmd,68656c70",
    "vMustReplyEmpty",
    "qThreadExtraInfo,2",
    "T3",
  ]);
  assert.match(p.replies[0], /PacketSize=4000;QStartNoAckMode\+;qXfer:features:read\+/);
  assert.deepEqual(p.replies.slice(1, 10), [
    "OK",
    "T05thread:1;",
    "m1,2",
    "l",
    "OK",
    "OK",
    "78563412",
    "OK",
    "00000000",
  ]);
  assert.deepEqual(p.replies.slice(10, 16), ["OK", "deadbeef", "E0e", "0000", "OK", "2324"]);
  assert.deepEqual(p.replies.slice(16, 21), ["OK", "OK", "E16", "OK", "E0e"]);
  assert.match(p.replies[21], /^m<\?xml/);
  assert.equal(p.replies[22], "E02");
  assert.equal(p.replies[23], "68656c7020746578740a"); // "help text\n"
  assert.deepEqual(p.replies.slice(24), [
    "",
    "7663707531207275 6e6e61626c65".replace(" ", ""),
    "E02",
  ]);
  assert.deepEqual(t.points, ["2,4096,4"]);
  assert.equal(p.acks, 2); // qSupported and QStartNoAckMode itself; none after
});

Deno.test("session: g/G round-trip the whole i386 layout; bad sizes are errors", async () => {
  const size = gLayout(I386).size;
  const g = "11".repeat(size);
  const { p } = await exchange(["G" + g, "g", "G00", "Gzz", "Pff=00", "p999", "P8=0"]);
  assert.equal(p.replies[0], "OK");
  assert.equal(p.replies[1], g);
  assert.deepEqual(p.replies.slice(2), ["E16", "E16", "E16", "E16", "E16"]);
});

Deno.test("session: continue, Ctrl-C, out-of-order packets while running, step", async () => {
  const t = new FakeTarget();
  const s = new GdbSession(t);
  const p = new Pipe();
  const done = s.serve(p);
  p.packet("QStartNoAckMode");
  p.packet("vCont;c");
  await tick();
  p.packet("g"); // not allowed while running
  await tick();
  p.send("\x03");
  await tick();
  p.packet("vCont;s:2;c");
  await tick();
  p.packet("Hc1");
  p.packet("s");
  await tick();
  p.packet("vCont;x");
  p.packet("vCont;s:9");
  p.send(null);
  await done;
  assert.deepEqual(p.replies, [
    "OK",
    "E10",
    "T02thread:2;",
    "T05thread:2;",
    "OK",
    "T05thread:1;",
    "E16",
    "E16",
  ]);
  assert.deepEqual(t.resumes, [{ step: -1 }, { step: 1 }, { step: 0 }]);
});

Deno.test("session: bad checksums are nacked, '-' resends, oversized packets get an error", async () => {
  const t = new FakeTarget();
  const s = new GdbSession(t);
  const p = new Pipe();
  const done = s.serve(p);
  p.send("$g#00");
  p.packet("qC");
  p.send("-");
  p.send("$" + "m".repeat(20000) + "#00");
  p.send("$m1000,"); // disconnect mid-packet
  p.send(null);
  assert.equal(await done, "disconnected");
  assert.deepEqual(p.replies, ["QC1", "QC1", "E16"]);
});

Deno.test("session: D detaches, k kills, a later client finds the target stopped", async () => {
  const t = new FakeTarget();
  const s = new GdbSession(t);
  let p = new Pipe();
  let done = s.serve(p);
  p.packet("c");
  await tick();
  p.send(null); // gdb vanishes while the guest runs: it keeps running
  assert.equal(await done, "disconnected");
  assert.ok(s.running);
  p = new Pipe();
  done = s.serve(p); // a new client stops it first
  p.packet("?");
  p.packet("D");
  assert.equal(await done, "detached");
  assert.deepEqual(p.replies, ["T02thread:2;", "OK"]);
  assert.ok(t.detached);
  p = new Pipe();
  done = s.serve(p);
  p.packet("k");
  assert.equal(await done, "killed");
  assert.ok(t.killed && s.ended);
});

Deno.test("session: random packets never throw and always get a reply", async () => {
  const rounds = Deno.env.get("PVX_FUZZ") === "full" ? 20_000 : 1_000;
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const heads = ["m", "M", "x", "X", "g", "G", "p", "P", "Z", "z", "H", "T", "q", "Q", "v", "?"];
  const chars = "0123456789abcdefxyz,:;=-+}#$* ";
  const t = new FakeTarget();
  t.resume = (a) => Promise.resolve({ kind: "stopped", vcpu: Math.max(0, a.step), signal: 5 });
  const s = new GdbSession(t);
  const p = new Pipe();
  const done = s.serve(p);
  p.packet("QStartNoAckMode");
  let sent = 1;
  for (let i = 0; i < rounds; i++) {
    let body = heads[Math.floor(rnd() * heads.length)];
    const n = Math.floor(rnd() * 24);
    for (let j = 0; j < n; j++) body += chars[Math.floor(rnd() * chars.length)];
    if (body[0] === "D" || body[0] === "k" || body.startsWith("vKill")) continue;
    p.packet(body);
    sent++;
  }
  p.send(null);
  await done;
  // every packet is answered (a packet sent before a stop reply gets E10, then the stop)
  assert.ok(p.replies.length >= sent, `${p.replies.length} replies to ${sent} packets`);
});

Deno.test("session: a packet sent again before our reply is acknowledged is answered once", async () => {
  // gdb 13 resends qSupported when a busy stub acknowledges late: answering both copies
  // put every later reply one behind ("Remote replied unexpectedly to 'vMustReplyEmpty'")
  const t = new FakeTarget();
  const s = new GdbSession(t);
  const p = new Pipe();
  const done = s.serve(p);
  p.packet("qSupported:swbreak+;xmlRegisters=i386");
  p.packet("qSupported:swbreak+;xmlRegisters=i386");
  p.send("+");
  p.packet("vMustReplyEmpty");
  p.send("+");
  p.packet("qC");
  p.send("+"); // the client got QC1: asking again is a new question
  p.packet("qC");
  p.send(null);
  assert.equal(await done, "disconnected");
  assert.equal(p.replies.length, 4, JSON.stringify(p.replies));
  assert.match(p.replies[0], /^PacketSize=/);
  assert.deepEqual(p.replies.slice(1), ["", "QC1", "QC1"]);
  assert.equal(p.acks, 5); // every packet, the copy included, is acknowledged
});
