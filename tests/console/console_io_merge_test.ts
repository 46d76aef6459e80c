/**
 * console_io and the ring on one console: a line written to both shows once (XTF writes
 * every line to both), console_io-only output still shows, in order.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ConsoleIoMerge } from "../../lib/console/console_io_merge.ts";
import type { ConsoleSink } from "../../lib/console/sinks.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

function setup() {
  const shown: string[] = [];
  const sink: ConsoleSink = {
    write: (b) => (shown.push(dec.decode(b)), true),
    backlog: 0,
    drained: () => Promise.resolve(),
    takeInput: () => new Uint8Array(0),
    read: () => new Uint8Array(0),
    onInput: () => {},
    detached: new Promise(() => {}),
    close: () => Promise.resolve(),
  };
  let queue: (() => void)[] = [];
  const merge = new ConsoleIoMerge(sink, (fn) => queue.push(fn));
  const runDeferred = () => {
    while (queue.length) {
      const q = queue;
      queue = [];
      for (const f of q) f();
    }
  };
  return { shown, merge, queue: () => queue, runDeferred };
}

Deno.test("a line written with console_io and to the ring shows once", () => {
  const { shown, merge, runDeferred } = setup();
  merge.consoleIo.write(enc.encode("Hello World\n"));
  merge.ring.write(enc.encode("Hello "));
  merge.ring.write(enc.encode("World\n"));
  runDeferred();
  strictEqual(shown.join(""), "Hello World\n");
});

Deno.test("console_io output the ring does not repeat shows, in order", () => {
  const { shown, merge, runDeferred } = setup();
  merge.consoleIo.write(enc.encode("early\n"));
  runDeferred();
  merge.ring.write(enc.encode("ring\n"));
  merge.consoleIo.write(enc.encode("a"));
  merge.ring.write(enc.encode("b"));
  runDeferred();
  deepStrictEqual(shown.join(""), "early\nring\nab");
});

const XTF = "/work/shared/xtf/pv32pae/test-pv32pae-example.cfg";
const haveXtf = await Deno.stat(XTF).then(() => true, () => false);

Deno.test({
  name: `XTF's example (console_io and ring) prints each line once${
    haveXtf ? "" : " (ignored: XTF missing)"
  }`,
  ignore: !haveXtf,
  async fn() {
    const o = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "boot", XTF],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = dec.decode(o.stdout);
    strictEqual(o.code, 0, dec.decode(o.stderr));
    const lines = out.split(/\r?\n/).filter((l) => l !== "");
    ok(lines.some((l) => l.includes("Test result: SUCCESS")), out);
    deepStrictEqual(lines, [...new Set(lines)], out);
  },
});
