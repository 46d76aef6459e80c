import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { InputError } from "../../lib/errors.ts";
import { openConsole, type TerminalInput } from "../../lib/toolstack/terminal.ts";

function fakeStdin(tty: boolean, chunks: Uint8Array[] = []) {
  const modes: boolean[] = [];
  let i = 0;
  const stdin: TerminalInput = {
    readable: new ReadableStream({
      pull(c) {
        if (i < chunks.length) c.enqueue(chunks[i++]);
      },
    }),
    isTerminal: () => tty,
    setRaw: (m) => void modes.push(m),
  };
  return { stdin, modes };
}

function memOut() {
  const bytes: number[] = [];
  return {
    bytes,
    stdout: { write: (b: Uint8Array) => (bytes.push(...b), Promise.resolve(b.length)) },
  };
}

Deno.test("openConsole() on a terminal enters raw mode, detaches on Ctrl-], restores on close", async () => {
  const { stdin, modes } = fakeStdin(true, [new Uint8Array([0x61, 0x1d])]);
  const { stdout } = memOut();
  const con = await openConsole({ stdin, stdout });
  strictEqual(con.raw, true);
  await con.detached;
  deepStrictEqual([...con.takeInput(10)], [0x61]);
  await con.close();
  deepStrictEqual(modes, [true, false]);
});

Deno.test("openConsole() on a pipe stays in line mode and passes input through", async () => {
  const { stdin, modes } = fakeStdin(false, [new TextEncoder().encode("help\n")]);
  const { stdout } = memOut();
  const con = await openConsole({ stdin, stdout, lfToCr: true });
  strictEqual(con.raw, false);
  let got: number[] = [];
  for (let i = 0; i < 50 && got.length < 5; i++) {
    got = got.concat([...con.takeInput(100)]);
    await new Promise((r) => setTimeout(r, 1));
  }
  deepStrictEqual(got, [...new TextEncoder().encode("help\r")]);
  await con.close();
  deepStrictEqual(modes, []);
});

Deno.test("openConsole() copies output to --console-log and reads --console-input", async () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/in.txt`, "boot\n");
  const { stdin, modes } = fakeStdin(true);
  const { bytes, stdout } = memOut();
  const con = await openConsole({
    stdin,
    stdout,
    logFile: `${dir}/log.txt`,
    inputFile: `${dir}/in.txt`,
  });
  strictEqual(con.raw, false, "input from a file never touches the terminal");
  con.write(new TextEncoder().encode("GRUB "));
  con.write(new TextEncoder().encode("prompt>"));
  let got: number[] = [];
  for (let i = 0; i < 50 && got.length < 5; i++) {
    got = got.concat([...con.takeInput(100)]);
    await new Promise((r) => setTimeout(r, 1));
  }
  await con.close();
  strictEqual(new TextDecoder().decode(new Uint8Array(bytes)), "GRUB prompt>");
  strictEqual(Deno.readTextFileSync(`${dir}/log.txt`), "GRUB prompt>");
  strictEqual(new TextDecoder().decode(new Uint8Array(got)), "boot\n");
  deepStrictEqual(modes, []);
});

Deno.test("openConsole() gives InputError for a missing input file or unwritable log", async () => {
  const { stdin } = fakeStdin(false);
  await rejects(openConsole({ stdin, inputFile: "/nonexistent/in" }), InputError);
  await rejects(openConsole({ stdin, logFile: "/nonexistent/dir/log" }), InputError);
});

async function child(how: string, signal?: Deno.Signal) {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./fixtures/raw_child.ts", import.meta.url).pathname, how],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  if (signal) {
    const reader = proc.stdout.getReader();
    let text = "";
    while (!text.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    proc.kill(signal);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    return { code: (await proc.status).code, text };
  }
  const o = await proc.output();
  return { code: o.code, text: new TextDecoder().decode(o.stdout) };
}

for (const how of ["exit", "throw", "reject"]) {
  Deno.test(`the terminal is restored when pvx leaves by ${how}`, async () => {
    const { text } = await child(how);
    ok(text.startsWith("raw:true\nready\n"), text);
    ok(text.endsWith("raw:false\n"), text);
  });
}

for (const [sig, code] of [["SIGTERM", 143], ["SIGHUP", 129], ["SIGINT", 130]] as const) {
  Deno.test(`the terminal is restored on ${sig} and the exit code is ${code}`, async () => {
    const r = await child("signal", sig);
    ok(r.text.endsWith("raw:false\n"), r.text);
    strictEqual(r.code, code);
  });
}

Deno.test("a StdioConsole serves as the hypervisor's console_io sink", async () => {
  const { stdin } = fakeStdin(false, [new Uint8Array([0x71])]);
  const { bytes, stdout } = memOut();
  const con = await openConsole({ stdin, stdout });
  const sink: import("../../lib/hypervisor/machine/host.ts").ConsoleSink = con;
  sink.write(new Uint8Array([0x68, 0x69]));
  let got: number[] = [];
  for (let i = 0; i < 50 && got.length < 1; i++) {
    got = [...(sink.read?.(10) ?? [])];
    await new Promise((r) => setTimeout(r, 1));
  }
  await con.close();
  deepStrictEqual(bytes, [0x68, 0x69]);
  deepStrictEqual(got, [0x71]);
});
