/**
 * The page's parts that need no browser, run in Deno: the console sink on a terminal
 * widget (raw keys, Ctrl-] detach, output order and back-pressure), a whole session of
 * the built-in guest with that console, the kernel-file checks (the CLI's one-line
 * errors), the bounded output buffers, and the live views.
 * @module
 */
import { deepStrictEqual, match, ok, rejects, strictEqual } from "node:assert/strict";
import { PageConsole, type TerminalWidget } from "../../web/src/page_console.ts";
import { Session } from "../../web/src/session.ts";
import { examineKernel, loadKernel } from "../../web/src/kernel_file.ts";
import { BoundedChunks } from "../../web/src/memory_outputs.ts";
import { blankDisk, diskBytes, memoryDisk } from "../../web/src/disk_store.ts";
import { renderEvtchns, renderXenstore } from "../../web/src/state_view.ts";
import { XenStore } from "../../lib/hypervisor/xenstore/store.ts";
import { InputError } from "../../lib/errors.ts";
import { decodeTrace } from "../../lib/trace/decode.ts";
import { xtfDir } from "./_xtf.ts";

/** A terminal widget double: records output, lets the test press keys. */
class FakeTerm implements TerminalWidget {
  out = "";
  #cb: (s: string) => void = () => {};
  disposed = false;
  write(data: Uint8Array, done: () => void): void {
    this.out += new TextDecoder().decode(data);
    setTimeout(done, 0);
  }
  onData(cb: (data: string) => void) {
    this.#cb = cb;
    return { dispose: () => (this.disposed = true) };
  }
  press(s: string): void {
    this.#cb(s);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("page console: keys reach the guest raw (Enter is \\r), output in order, Ctrl-] detaches", async () => {
  const term = new FakeTerm();
  const copy: string[] = [];
  const con = new PageConsole(term, (b) => copy.push(new TextDecoder().decode(b)));
  let woke = 0;
  con.onInput(() => woke++);
  term.press("ls\r");
  term.press("\x1b[A\x7f");
  await tick();
  ok(woke > 0);
  deepStrictEqual([...con.takeInput(100)], [..."ls\r\x1b[A\x7f"].map((c) => c.charCodeAt(0)));
  con.write(new TextEncoder().encode("one "));
  con.write(new TextEncoder().encode("two\n"));
  await con.drained();
  await tick();
  let detached = false;
  con.detached.then(() => (detached = true));
  term.press("\x1d");
  await tick();
  await tick();
  ok(detached, "Ctrl-] did not detach");
  await con.close();
  strictEqual(term.out, "one two\n");
  strictEqual(copy.join(""), "one two\n");
  ok(term.disposed);
});

Deno.test("page session: the built-in guest boots with the page console, answers, powers off", async () => {
  const image = await Deno.readFile(new URL("../../guest/pvx-guest.elf", import.meta.url));
  const term = new FakeTerm();
  const con = new PageConsole(term);
  const log: string[] = [];
  const disk = blankDisk(1);
  const s = new Session({
    image,
    imageName: "pvx-guest",
    cmdline: "",
    memoryMiB: 32,
    vcpus: 1,
    disk,
    net: true,
    trace: true,
    recordRings: true,
    reboot: true,
    console: con,
    log: (l) => log.push(l),
  });
  const until = async (text: string) => {
    for (let i = 0; i < 3000 && !term.out.includes(text); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    ok(term.out.includes(text), `no "${text}" in:\n${term.out}`);
  };
  await until("pvx$ ");
  // the live views see the vbd and the vif
  const dev = s.devices!;
  match(renderXenstore(dev.store), /vbd/);
  match(renderXenstore(dev.store), /mac = "00:16:3e:00:01:00"/);
  match(
    renderEvtchns([dev.deviceHost.dom0Evtchn, s.machine!.domain.evtchn], s.events),
    /interdomain/,
  );
  term.press("uname\r");
  await until("i686");
  term.press("poweroff\r");
  const end = await s.done;
  await con.close();
  deepStrictEqual([end.reason, end.exitCode], ["poweroff", 0]);
  deepStrictEqual(log, ["pvx: the guest powered off"]);
  ok(decodeTrace(s.traceBytes!.bytes()).length > 100);
  ok(s.pcapBytes!.size >= 24);
  ok(s.recordingBytes!.size > 0);
  // the page keeps the disk open after the run (download, OPFS)
  strictEqual((await diskBytes(disk)).length, 1 << 20);
  const sent = [...s.events.ports.values()].reduce((a, c) => a + c.sends, 0);
  ok(sent > 0, "no event-channel sends counted");
});

Deno.test("page kernel files: the CLI's one-line errors; the report comes first", async () => {
  const file = (name: string, bytes: Uint8Array) => ({
    name,
    size: bytes.length,
    arrayBuffer: () => Promise.resolve(bytes.slice().buffer),
  });
  await rejects(
    loadKernel(file("notes.txt", new TextEncoder().encode("hello\n"))),
    (e: Error) =>
      e instanceof InputError &&
      e.message ===
        'Cannot load image "notes.txt": not an ELF file, gzip file or bzImage (magic 68 65 6c 6c)',
  );
  await rejects(
    loadKernel({
      name: "huge.bin",
      size: 300 << 20,
      arrayBuffer: () => Promise.reject(new Error("must not be read")),
    }),
    /Cannot load image "huge.bin": 314572800 bytes is over the 256 MiB limit/,
  );
  const image = await Deno.readFile(new URL("../../guest/pvx-guest.elf", import.meta.url));
  const k = examineKernel("pvx-guest.elf", image);
  strictEqual(k.kind, "pv32pae");
  match(k.text, /Boot summary: pv32pae/);
  strictEqual(k.problem, null);
  // a 64-bit kernel (XTF's pv64 example): the report, and no refusal (pvx boots it)
  const xtf = xtfDir();
  if (xtf) {
    const k64 = examineKernel(
      "test-pv64-example",
      await Deno.readFile(`${xtf}/pv64/test-pv64-example`),
    );
    strictEqual(k64.kind, "pv64");
    strictEqual(k64.problem, null);
  }
});

Deno.test("page outputs: bounded, and disks whole sectors", async () => {
  const c = new BoundedChunks(10);
  const buf = new Uint8Array([1, 2, 3, 4]);
  c.sink(buf);
  buf[0] = 9; // the writer reuses its buffer: the copy is kept
  c.sink(new Uint8Array([5, 6, 7, 8]));
  c.sink(new Uint8Array([9, 9, 9]));
  deepStrictEqual([...c.bytes()], [1, 2, 3, 4, 5, 6, 7, 8]);
  strictEqual(c.dropped, 3);
  const d = memoryDisk(new Uint8Array(1024).fill(7), "d.img");
  strictEqual(d.sectors, 2);
  deepStrictEqual((await diskBytes(d)).slice(0, 2), new Uint8Array([7, 7]));
  for (const [bytes, why] of [[0, /empty/], [1000, /whole number of sectors/]] as const) {
    let msg = "";
    try {
      memoryDisk(new Uint8Array(bytes), "x.img");
    } catch (e) {
      ok(e instanceof InputError);
      msg = (e as Error).message;
    }
    match(msg, why);
  }
});

Deno.test("page views: the xenstore tree escapes values and stays bounded", () => {
  const store = new XenStore();
  store.write("/local/domain/1/name", 'a"b\nc');
  for (let i = 0; i < 1000; i++) store.write(`/big/n${i}`, String(i));
  const text = renderXenstore(store);
  match(text, /name = "a\\x22b\\x0ac"/);
  ok(text.split("\n").length <= 401);
  ok(text.endsWith("..."));
});
