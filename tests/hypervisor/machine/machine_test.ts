import assert from "node:assert/strict";
import { Machine } from "../../../lib/hypervisor/machine/machine.ts";
import { helloKernel, kernelImage } from "../_image.ts";

function sink() {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    write(b: Uint8Array) {
      chunks.push(b.slice());
    },
    text() {
      return new TextDecoder().decode(Uint8Array.from(chunks.flatMap((c) => [...c])));
    },
  };
}

Deno.test("Machine.run() prints console_io output and powers off for the hello kernel", async () => {
  const s = sink();
  const m = new Machine({ image: helloKernel(), memoryMiB: 8, console: s });
  const r = await m.run();
  assert.equal(s.text(), "hello from pvx\n");
  assert.equal(r.reason, "poweroff");
  assert.equal(r.shutdownCode, 0);
  assert.ok(r.instructions > 4 && r.instructions < 100, `ran ${r.instructions}`);
});

Deno.test("Machine.run() reports a crash with a register dump when the guest asks for it", async () => {
  const m = new Machine({ image: helloKernel("bye\n", 3), memoryMiB: 8 });
  const r = await m.run();
  assert.equal(r.reason, "crash");
  assert.match(r.dump ?? "", /EIP: e019:\[<c0/);
});

Deno.test("Machine.stop() ends a run at the next slice boundary", async () => {
  const m = new Machine({
    image: kernelImage((a) => a.label("spin").jmpLabel("spin")),
    memoryMiB: 8,
    sliceInstructions: 1000,
  });
  const running = m.run();
  await new Promise((r) => setTimeout(r, 30));
  m.stop();
  const r = await running;
  assert.equal(r.reason, "stopped");
  assert.ok(r.instructions > 0);
});

Deno.test("Machine.run() reports a guest blocked with nothing to wake it as hung", async () => {
  const m = new Machine({
    image: kernelImage((a, hp) => a.movImm(3, 1).movImm(1, 0).hypercall(hp, 29)),
    memoryMiB: 8,
  });
  const r = await m.run();
  assert.equal(r.reason, "hung");
});

Deno.test("Machine.run() gives up on an idle guest after idleTimeoutMs even with devices", async () => {
  const m = new Machine({
    image: kernelImage((a, hp) => a.movImm(3, 1).movImm(1, 0).hypercall(hp, 29)),
    memoryMiB: 8,
    idleTimeoutMs: 50,
  });
  m.sliceHook = { hasPendingWork: false, runDeferred: () => 0 };
  const r = await m.run();
  assert.equal(r.reason, "hung");
});
