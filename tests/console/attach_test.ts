import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { attachConsole, CONSOLE_CLI_OPTIONS } from "../../lib/toolstack/console_attach.ts";
import { XenconsRing } from "../../lib/console/protocol.ts";
import { InputError } from "../../lib/errors.ts";
import { FakeDeviceHost } from "../../lib/hypervisor/backend/testing_host.ts";

function quietStdin() {
  return {
    readable: new ReadableStream<Uint8Array>(),
    isTerminal: () => false,
    setRaw() {},
  };
}

Deno.test("attachConsole() drains the guest's last output through back-pressure on detach", async () => {
  const host = new FakeDeviceHost(16);
  const g = host.addGuest(1);
  const mfn = g.allocFrame();
  const port = g.allocUnbound();
  const out: number[] = [];
  let slow = true;
  const con = await attachConsole(host, 1, mfn, port, {
    stdin: quietStdin(),
    stdout: {
      write: async (b) => {
        if (slow) await new Promise((r) => setTimeout(r, 1));
        out.push(...b.subarray(0, Math.min(b.length, 100)));
        return Math.min(b.length, 100);
      },
    },
    highWater: 256,
    lowWater: 64,
  });
  const ring = new XenconsRing(g.frame(mfn));
  const data = new Uint8Array(2048).map((_, i) => i & 0xff);
  strictEqual(ring.guestWrite(data), 2048);
  g.notify(port);
  host.drain();
  slow = false;
  await con.detach();
  deepStrictEqual(out, [...data]);
});

Deno.test("attachConsole() refuses an unmappable ring with InputError", async () => {
  const host = new FakeDeviceHost(16);
  host.addGuest(1);
  await rejects(
    attachConsole(host, 1, 9999, 1, {
      stdin: quietStdin(),
      stdout: { write: (b) => Promise.resolve(b.length) },
    }),
    InputError,
  );
});

Deno.test("CONSOLE_CLI_OPTIONS names the three boot flags", () => {
  deepStrictEqual(CONSOLE_CLI_OPTIONS.map((o) => o.flags.split(" ")[0]), [
    "--console-log",
    "--console-input",
    "--xenstore-socket",
  ]);
  ok(CONSOLE_CLI_OPTIONS.every((o) => o.description.length > 10));
});
