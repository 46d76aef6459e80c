import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { ESCAPE_BYTE, InputPump, OutputQueue } from "../../lib/console/sinks.ts";

function streamOf(chunks: Uint8Array[], pulled: { n: number }): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      pulled.n++;
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else c.close();
    },
  }, { highWaterMark: 0 });
}

Deno.test("OutputQueue writes every chunk to every writer in order", async () => {
  const a: number[] = [];
  const b: number[] = [];
  const q = new OutputQueue([
    { write: (x) => (a.push(...x), Promise.resolve(x.length)) },
    // a writer that takes one byte at a time
    { write: (x) => (b.push(x[0]), Promise.resolve(1)) },
  ]);
  for (let i = 0; i < 20; i++) q.write(new Uint8Array([i, i + 100]));
  await q.flush();
  deepStrictEqual(a, b);
  strictEqual(a.length, 40);
  strictEqual(q.backlog, 0);
});

Deno.test("OutputQueue reports high water and resolves drained() at low water", async () => {
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const q = new OutputQueue(
    [{
      write: async (x) => {
        await gate;
        return x.length;
      },
    }],
    100,
    20,
  );
  strictEqual(q.write(new Uint8Array(60)), true);
  strictEqual(q.write(new Uint8Array(60)), false);
  let drained = false;
  const d = q.drained().then(() => (drained = true));
  await new Promise((r) => setTimeout(r, 5));
  strictEqual(drained, false);
  release();
  gate = Promise.resolve();
  await d;
  strictEqual(drained, true);
  ok(q.backlog <= 20);
});

Deno.test("OutputQueue stops cleanly when a writer fails", async () => {
  const q = new OutputQueue([{ write: () => Promise.reject(new Error("EPIPE")) }], 10, 5);
  q.write(new Uint8Array(50));
  await q.flush();
  ok(q.error instanceof Error);
  await q.drained(); // does not hang
  strictEqual(q.backlog, 0);
});

Deno.test("InputPump detaches on Ctrl-] and passes the bytes before it", async () => {
  const pump = new InputPump(
    streamOf([new Uint8Array([104, 105, ESCAPE_BYTE, 120])], { n: 0 }),
    { escapeByte: ESCAPE_BYTE },
  );
  await pump.detached;
  deepStrictEqual([...pump.take(10)], [104, 105]);
  await pump.stop();
});

Deno.test("InputPump translates LF to CR in line mode when asked", async () => {
  const pump = new InputPump(streamOf([new TextEncoder().encode("ls\n")], { n: 0 }), {
    lfToCr: true,
  });
  await pump.done;
  deepStrictEqual([...pump.take(10)], [108, 115, 13]);
});

Deno.test("InputPump stops reading while its buffer is full (back-pressure)", async () => {
  const pulled = { n: 0 };
  const chunks = Array.from({ length: 100 }, () => new Uint8Array(1000));
  const pump = new InputPump(streamOf(chunks, pulled), { maxBuffered: 4096 });
  let signalled = 0;
  pump.onInput(() => signalled++);
  await new Promise((r) => setTimeout(r, 20));
  ok(pulled.n <= 7, `pulled ${pulled.n} chunks with nobody reading`);
  ok(pump.buffered <= 4096 + 1000);
  let total = 0;
  for (let i = 0; i < 500 && total < 100_000; i++) {
    total += pump.take(1024).length;
    await new Promise((r) => setTimeout(r, 0));
  }
  strictEqual(total, 100_000);
  ok(signalled > 0);
});
