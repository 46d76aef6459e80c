/**
 * `pvx boot` end to end with the console and XenStore flags, on Debian's pvgrub
 * (fetched by .ci/setup.d/inspect.sh): --xenstore-socket serves the running guest's
 * store to xenstore-ls and xenstore-write, input typed on a pipe reaches grub (line
 * mode), --console-log is a byte-exact copy of stdout; on a terminal (a pty from
 * `script`), Ctrl-] detaches, ends the run with exit 0 and restores the terminal.
 */
import { ok, strictEqual } from "node:assert/strict";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const GRUB = new URL("../fixtures/cache/inspect/grub-i386-xen.bin", import.meta.url).pathname;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const haveGrub = await exists(GRUB);
const haveClients = await exists("/usr/bin/xenstore-ls") && await exists("/usr/bin/xenstore-write");
const haveScript = await exists("/usr/bin/script");
if (!haveGrub) console.warn(`skipping pvx boot console tests: ${GRUB} is absent`);
if (!haveClients) console.warn("skipping the --xenstore-socket CLI test: xenstore-utils absent");
if (!haveScript) console.warn("skipping the Ctrl-] CLI test: script(1) is absent");

/** Screen text: ANSI escapes and CRs removed. */
function plain(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
}

/** Reads a child's stdout into `acc.text` until `until(text)` holds or it ends. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  acc: { bytes: number[] },
  until: (text: string) => boolean,
): Promise<void> {
  const dec = () => plain(new TextDecoder().decode(new Uint8Array(acc.bytes)));
  while (!until(dec())) {
    const { value, done } = await reader.read();
    if (done) return;
    acc.bytes.push(...value);
  }
}

Deno.test({
  name: "pvx boot --xenstore-socket serves the running guest; --console-log copies stdout",
  ignore: !haveGrub || !haveClients,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "pvx-boot-" });
    const sock = `${dir}/xs.sock`;
    const log = `${dir}/console.log`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, "boot", GRUB, "--xenstore-socket", sock, "--console-log", log],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    const out = { bytes: [] as number[] };
    await readUntil(reader, out, (t) => t.includes("grub> "));
    const env = { XENSTORED_PATH: sock };
    const ls = await new Deno.Command("xenstore-ls", { args: ["/local/domain/1"], env }).output();
    const tree = new TextDecoder().decode(ls.stdout);
    strictEqual(ls.code, 0);
    ok(tree.includes('name = "pvx-guest"'), tree);
    ok(/\n\s*ring-ref = "\d+"/.test(tree), tree);
    const w = await new Deno.Command("xenstore-write", {
      args: ["/local/domain/1/name", "renamed-from-the-host"],
      env,
    }).output();
    strictEqual(w.code, 0);
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("xen_cat /local/domain/1/name\nhalt\n"));
    await stdin.close();
    await readUntil(reader, out, () => false);
    const status = await child.status;
    const err = new TextDecoder().decode(await new Response(child.stderr).arrayBuffer());
    strictEqual(status.code, 0, err);
    const screen = plain(new TextDecoder().decode(new Uint8Array(out.bytes)));
    ok(screen.includes("/local/domain/1/name\nrenamed-from-the-host\n"), screen);
    const logged = Deno.readFileSync(log);
    strictEqual(logged.length, out.bytes.length);
    ok(logged.every((b, i) => b === out.bytes[i]), "the log is a byte-exact copy");
    ok(!(await exists(sock)), "the socket is removed at exit");
  },
});

Deno.test({
  name: "pvx boot on a terminal: Ctrl-] detaches, exits 0 and restores the terminal",
  ignore: !haveGrub || !haveScript,
  async fn() {
    // script(1) gives the child a pty; `stty -a` after pvx shows whether icanon came back
    const cmd = `'${Deno.execPath()}' run -A '${CLI}' boot '${GRUB}'; ` +
      `echo "exit=$?"; stty -a | grep -o -- '-\\?icanon'`;
    const child = new Deno.Command("script", {
      args: ["-qfc", cmd, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.getReader();
    const out = { bytes: [] as number[] };
    await readUntil(reader, out, (t) => t.includes("grub> "));
    const stdin = child.stdin.getWriter();
    await stdin.write(new TextEncoder().encode("echo typed-raw\r"));
    await readUntil(reader, out, (t) => t.split("grub> ").length > 2);
    await stdin.write(new Uint8Array([0x1d]));
    await readUntil(reader, out, (t) => /icanon/.test(t));
    await stdin.close();
    await readUntil(reader, out, () => false);
    await child.status;
    const screen = plain(new TextDecoder().decode(new Uint8Array(out.bytes)));
    ok(screen.includes("echo typed-raw\ntyped-raw\n"), screen);
    ok(screen.includes("detached"), screen);
    ok(screen.includes("exit=0"), screen);
    ok(/\nicanon\n?$/.test(screen.trimEnd() + "\n"), `terminal not restored: ${screen}`);
  },
});
