/**
 * The acceptance: Debian's grub-i386-xen.bin booted by `pvx boot` with an ext2
 * image built here as its vbd; typed `ls (xen/xvda)/` and `cat (xen/xvda)/hello.txt`
 * show the files. Needs the pvgrub fixture (.ci/setup.d/inspect.sh), e2fsprogs and the
 * `pvx boot` subcommand; ignored when one is missing.
 */
import { ok } from "node:assert/strict";
import { buildExt2Image, haveE2fsprogs } from "./ext2_fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GRUB = `${ROOT}tests/fixtures/cache/inspect/grub-i386-xen.bin`;
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
/** Whether `pvx boot` exists and takes --disk. */
async function bootTakesDisk(): Promise<boolean> {
  if (!(await exists(`${ROOT}tools/boot.ts`))) return false;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "boot", "--help"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  return out !== undefined && new TextDecoder().decode(out.stdout).includes("--disk");
}
const READY = (await exists(GRUB)) && (await haveE2fsprogs()) && (await bootTakesDisk());
const TIMEOUT_MS = Number(Deno.env.get("PVX_GRUB_TIMEOUT_MS") ?? 240_000);

/** Reads the child's output until `want` appears (or the deadline passes). */
async function expectOutput(
  reader: ReadableStreamDefaultReader<string>,
  seen: { text: string },
  want: RegExp,
  deadline: number,
): Promise<void> {
  while (!want.test(seen.text)) {
    const left = deadline - Date.now();
    ok(left > 0, `timed out waiting for ${want}; console so far:\n${seen.text.slice(-2000)}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const r = await Promise.race([
      reader.read(),
      new Promise<null>((res) => timer = setTimeout(() => res(null), left)),
    ]);
    clearTimeout(timer);
    if (r === null) continue;
    ok(!r.done, `pvx exited; console:\n${seen.text.slice(-2000)}`);
    seen.text += r.value;
  }
}

Deno.test({
  name: "pvx boot grub-i386-xen.bin --disk ext2.img: grub lists and cats files on (xen/xvda)",
  ignore: !READY,
  fn: async () => {
    const img = await Deno.makeTempFile({ suffix: ".ext2" });
    const text = "hello from a pvx vbd";
    await buildExt2Image(img, { "hello.txt": `${text}\n`, "boot/readme": "pvx\n" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}cli.ts`, "boot", GRUB, "--disk", `${img},xvda,ro`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const seen = { text: "" };
    let errText = "";
    const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (c) => void (errText += c) }),
    ).catch(() => {});
    const deadline = Date.now() + TIMEOUT_MS;
    const type = (s: string) => writer.write(new TextEncoder().encode(s));
    try {
      await expectOutput(reader, seen, /grub>\s*$/m, deadline);
      await type("ls (xen/xvda)/\r");
      await expectOutput(reader, seen, /lost\+found\/ boot\/ hello\.txt/, deadline);
      await type("cat (xen/xvda)/hello.txt\r");
      await expectOutput(reader, seen, new RegExp(text), deadline);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : e}\nstderr:\n${errText.slice(-2000)}`);
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await errDone;
      await Deno.remove(img);
    }
  },
});
