/**
 * Debian's gdb in batch mode against `pvx boot --gdb 0 --gdb-wait` running pvx's own
 * guest (guest/pvx-guest.elf keeps its symbols): break on a kernel function by name,
 * continue, backtrace, print a variable, stepi, watch a variable change, delete, and
 * continue to poweroff. The same against the 64-bit guest (guest/pvx-guest64.elf): gdb
 * sees an amd64 target and 64-bit kernel addresses.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const ELF = `${ROOT}guest/pvx-guest.elf`;
const ELF64 = `${ROOT}guest/pvx-guest64.elf`;
const haveGdb = (() => {
  try {
    return new Deno.Command("gdb", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** Starts pvx with the stub on a free port; returns the child and the port. */
async function startPvx(
  extra: string[] = [],
): Promise<{ child: Deno.ChildProcess; port: number; err: () => string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "boot", "--gdb", "0", "--gdb-wait", ...extra],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let port = 0;
  while (port === 0) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`pvx ended before listening: ${text}`);
    text += value;
    const m = /gdb stub on localhost:(\d+)/.exec(text);
    if (m) port = Number(m[1]);
  }
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  return { child, port, err: () => text };
}

async function gdbBatch(port: number, commands: string[], elf = ELF): Promise<string> {
  const args = ["-nx", "-batch", "-ex", "set pagination off", "-ex", `target remote :${port}`];
  for (const c of commands) args.push("-ex", c);
  args.push(elf);
  const out = await new Deno.Command("gdb", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return dec.decode(out.stdout) + dec.decode(out.stderr);
}

Deno.test({
  name: "gdb e2e: break by name, bt, print, stepi, watch, delete, continue to poweroff" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const { child, port, err } = await startPvx();
    try {
      const out = await gdbBatch(port, [
        "info registers eip",
        "break selftest_run",
        "continue",
        "bt",
        "print/x $eip",
        "print (int)stat_ticks",
        "stepi",
        "print/x $eip",
        "watch *(int*)&stat_ticks",
        "continue",
        "delete",
        "monitor vcpus",
        "continue",
      ]);
      assert.match(out, /eip\s+0xc0000000/, out); // stopped before the first instruction
      const bp = /Breakpoint 1, (0x[0-9a-f]+) in selftest_run \(\)/.exec(out);
      assert.ok(bp, out);
      assert.match(out, /#1 +0x[0-9a-f]+ in start_kernel \(\)/, out);
      assert.match(out, new RegExp(`\\$1 = ${bp[1]}\n`), out);
      assert.match(out, /\$2 = 0\n/, out);
      // stepi: one instruction further, still in selftest_run
      const after = /\$3 = (0x[0-9a-f]+)/.exec(out);
      assert.ok(
        after && Number(after[1]) > Number(bp[1]) && Number(after[1]) < Number(bp[1]) + 16,
        out,
      );
      assert.match(
        out,
        /Hardware watchpoint 2: \*\(int\*\)&stat_ticks\n\nOld value = 0\nNew value = 1/,
        out,
      );
      assert.match(out, /vcpu0: runnable cpl 1/, out);
      assert.match(out, /exited normally/, out);
      const st = await child.status;
      assert.equal(st.code, 0, err());
      assert.match(err(), /gdb: session ended \(ended\)/);
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
    }
  },
});

Deno.test({
  name: "gdb e2e: unmapped memory is an error, the session goes on; detach lets the guest run" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const { child, port, err } = await startPvx();
    try {
      const out = await gdbBatch(port, [
        "output *(int*)0",
        "echo \\n",
        "detach",
      ]);
      assert.match(out, /Cannot access memory at address 0x0/, out);
      const st = await child.status;
      assert.equal(st.code, 0, err()); // the selftest ran to poweroff without gdb
      assert.match(err(), /session ended \(detached\)/);
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
    }
  },
});

Deno.test({
  name: "gdb e2e: xl configs, one domain with gdb = unix:PATH and gdb_wait, the other runs on" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const sock = `${dir}/alpha.sock`;
    const cfg = (name: string, extra: string) =>
      `name = "${name}"\nkernel = "${ELF}"\ncmdline = "selftest"\nmemory = 32\n${extra}`;
    await Deno.writeTextFile(`${dir}/a.cfg`, cfg("alpha", `gdb = "unix:${sock}"\ngdb_wait = 1\n`));
    await Deno.writeTextFile(`${dir}/b.cfg`, cfg("beta", ""));
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}cli.ts`,
        "boot",
        "--domain",
        `${dir}/a.cfg`,
        "--domain",
        `${dir}/b.cfg`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    try {
      const out = child.output();
      // the socket appears once alpha's stub listens
      for (let i = 0; i < 600; i++) {
        try {
          await Deno.lstat(sock);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const args = ["-nx", "-batch", "-ex", `target remote ${sock}`];
      for (const c of ["break selftest_run", "continue", "bt 1", "delete", "continue"]) {
        args.push("-ex", c);
      }
      const g = await new Deno.Command("gdb", {
        args: [...args, ELF],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
      const text = new TextDecoder().decode(g.stdout) + new TextDecoder().decode(g.stderr);
      assert.match(text, /Breakpoint 1, 0x[0-9a-f]+ in selftest_run \(\)/, text);
      assert.match(text, /exited normally/, text);
      const o = await out;
      const err = new TextDecoder().decode(o.stderr);
      const stdout = new TextDecoder().decode(o.stdout);
      assert.equal(o.code, 0, err);
      assert.match(err, /alpha: gdb stub on unix:/);
      assert.match(err, /beta: powered off/);
      assert.match(err, /alpha: powered off/);
      assert.match(stdout, /alpha \| selftest: \d+ passed, 0 failed/);
      assert.match(stdout, /beta +\| selftest: \d+ passed, 0 failed/);
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "gdb e2e: read and access watchpoints, a hardware breakpoint, two vcpus as threads" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const { child, port, err } = await startPvx(["--vcpus", "2"]);
    try {
      const out = await gdbBatch(port, [
        "info threads",
        "rwatch *(int*)&tick_period",
        "continue",
        "delete",
        "awatch *(int*)&stat_ticks",
        "continue",
        "delete",
        "hbreak poweroff",
        "continue",
        "thread 2",
        "continue",
      ]);
      assert.match(out, /\* 1 +Thread 1 \(vcpu0 runnable\)/, out);
      assert.match(out, / {2}2 +Thread 2 \(vcpu1 offline\)/, out);
      assert.match(
        out,
        /Hardware read watchpoint 1: \*\(int\*\)&tick_period\n\nValue = 10000000/,
        out,
      );
      assert.match(
        out,
        /Hardware access \(read\/write\) watchpoint 2: \*\(int\*\)&stat_ticks\n\nValue = /,
        out,
      );
      assert.match(out, /Breakpoint 3, 0x[0-9a-f]+ in poweroff \(\)/, out);
      assert.match(out, /Switching to thread 2/, out);
      assert.match(out, /exited normally/, out);
      assert.equal((await child.status).code, 0, err());
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
    }
  },
});

Deno.test({
  name: "gdb e2e 64-bit: amd64 registers, break by name, kernel memory, stepi, watch, kill" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const { child, port, err } = await startPvx([ELF64, "--cmdline", "selftest"]);
    try {
      const out = await gdbBatch(port, [
        "show architecture",
        "info registers rip",
        "break selftest_run",
        "continue",
        "bt",
        "info registers rip",
        "x/gx &tick_period",
        "print (int)stat_ticks",
        "stepi",
        "print/x $pc",
        "watch *(int*)&stat_ticks",
        "continue",
        "delete",
        "print/x $rsp",
        "print $r15 == $r15",
        "kill",
      ], ELF64);
      assert.match(out, /currently "?i386:x86-64"?/, out);
      assert.match(out, /rip +0xffffffff80000000 +0xffffffff80000000 <_(text|start)>/, out); // the first instruction
      const bp = /Breakpoint 1, (0xffffffff[0-9a-f]{8}) in selftest_run \(\)/.exec(out);
      assert.ok(bp, out);
      assert.match(out, /#1 +0xffffffff[0-9a-f]{8} in start_kernel \(\)/, out);
      assert.match(out, new RegExp(`rip +${bp[1]} +${bp[1]} <selftest_run>`), out);
      assert.match(out, /<tick_period>:\s+0x0000000000989680\n/, out); // 10000000 ns
      const ticks = /\$1 = (\d+)\n/.exec(out);
      assert.ok(ticks, out);
      const after = /\$2 = (0x[0-9a-f]+)/.exec(out);
      assert.ok(after, out);
      const d = BigInt(after[1]) - BigInt(bp[1]);
      assert.ok(d > 0n && d < 16n, out); // one instruction further
      const n = Number(ticks[1]);
      assert.match(
        out,
        new RegExp(
          `Hardware watchpoint 2: \\*\\(int\\*\\)&stat_ticks\n\nOld value = ${n}\nNew value = ${
            n + 1
          }`,
        ),
        out,
      );
      assert.match(out, /\$3 = 0xffffffff8[0-9a-f]{7}\n/, out); // a kernel stack
      assert.match(out, /\$4 = 1\n/, out);
      assert.match(out, /\[Inferior 1 \(Remote target\) killed\]/, out);
      await child.status;
      assert.match(err(), /gdb killed the domain/);
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
    }
  },
});

Deno.test({
  name: "gdb e2e 64-bit: a read watchpoint, a hardware breakpoint, detach runs to poweroff" +
    (haveGdb ? "" : " (ignored: gdb missing)"),
  ignore: !haveGdb,
  sanitizeResources: false,
  fn: async () => {
    const { child, port, err } = await startPvx([ELF64, "--cmdline", "selftest"]);
    try {
      const out = await gdbBatch(port, [
        "rwatch *(int*)&tick_period",
        "continue",
        "delete",
        "hbreak poweroff",
        "continue",
        "info registers rip",
        "detach",
      ], ELF64);
      assert.match(
        out,
        /Hardware read watchpoint 1: \*\(int\*\)&tick_period\n\nValue = 10000000/,
        out,
      );
      assert.match(out, /Breakpoint 2, 0xffffffff[0-9a-f]{8} in poweroff \(\)/, out);
      assert.match(out, /rip +0xffffffff80[0-9a-f]{6} +0xffffffff80[0-9a-f]{6} <poweroff>/, out);
      const st = await child.status;
      assert.equal(st.code, 0, err()); // the selftest ran on to poweroff
      assert.match(err(), /session ended \(detached\)/);
    } finally {
      try {
        child.kill();
      } catch {
        // already ended
      }
      await child.status;
    }
  },
});
