/**
 * The acceptance: Debian's grub-i386-xen.bin booted by `pvx boot` with an ext2
 * image built here as its vbd; typed `ls (xen/xvda)/` and `cat (xen/xvda)/hello.txt`
 * show the files. Needs the pvgrub fixture (.ci/setup.d/inspect.sh), e2fsprogs and the
 * `pvx boot` subcommand; ignored when one is missing.
 */
import { needs } from "../_tools.ts";
import { ok } from "node:assert/strict";
import { buildExt2Image, debugfsCat, haveE2fsprogs } from "./ext2_fixture.ts";

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
const MISSING = [
  !(await exists(GRUB)) && "grub-i386-xen.bin missing: bash .ci/setup.d/inspect.sh",
  !(await haveE2fsprogs()) && "e2fsprogs missing",
  !(await bootTakesDisk()) && "pvx boot has no --disk",
];
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

/** A running `pvx boot GRUB --disk SPEC` with its console. */
interface GrubSession {
  /** Types a line (Enter appended). */
  line(s: string): Promise<void>;
  /** Waits until the console output since the last mark matches `re`. */
  expect(re: RegExp): Promise<void>;
  /** Forgets the output so far (the next expect looks at new output only). */
  mark(): void;
  /** Kills pvx (SIGKILL) and releases the pipes. */
  close(): Promise<void>;
  /** What pvx wrote to stderr. */
  stderr(): string;
}

/** Boots GRUB with one `--disk` and waits for its prompt. */
async function grub(disk: string): Promise<GrubSession> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "boot", GRUB, "--disk", disk],
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
  const session: GrubSession = {
    line: (s) => writer.write(new TextEncoder().encode(`${s}\r`)),
    expect: async (re) => {
      try {
        await expectOutput(reader, seen, re, deadline);
      } catch (e) {
        throw new Error(`${e instanceof Error ? e.message : e}\nstderr:\n${errText.slice(-2000)}`);
      }
    },
    mark: () => void (seen.text = ""),
    close: async () => {
      child.kill("SIGKILL");
      await child.status;
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
      await errDone;
    },
    stderr: () => errText,
  };
  try {
    await session.expect(/grub>\s*$/m);
  } catch (e) {
    await session.close();
    throw e;
  }
  session.mark();
  return session;
}

Deno.test({
  ...needs(
    "pvx boot grub-i386-xen.bin --disk ext2.img: grub lists and cats files on (xen/xvda)",
    ...MISSING,
  ),
  fn: async () => {
    const img = await Deno.makeTempFile({ suffix: ".ext2" });
    const text = "hello from a pvx vbd";
    await buildExt2Image(img, { "hello.txt": `${text}\n`, "boot/readme": "pvx\n" });
    const g = await grub(`${img},xvda,ro`);
    try {
      await g.line("ls (xen/xvda)/");
      await g.expect(/lost\+found\/ boot\/ hello\.txt/);
      await g.line("cat (xen/xvda)/hello.txt");
      await g.expect(new RegExp(text));
    } finally {
      await g.close();
      await Deno.remove(img);
    }
  },
});

/** An empty GRUB environment block (1 KiB), as grub-editenv creates it. */
function grubenv(): string {
  const head = "# GRUB Environment Block\n";
  return head + "#".repeat(1024 - head.length);
}

Deno.test({
  ...needs(
    "GRUB's save_env writes through blkback: into the image, or only into the --snapshot overlay",
    ...MISSING,
  ),
  fn: async () => {
    const img = await Deno.makeTempFile({ suffix: ".ext2" });
    try {
      await buildExt2Image(img, { "grubenv": grubenv(), "hello.txt": "hi\n" });
      const before = await Deno.readFile(img);
      // --snapshot: GRUB reads its own write back; the file is untouched.
      let g = await grub(`${img},xvda,snapshot`);
      try {
        await g.line("set pvx_test=kept_in_the_overlay");
        await g.line("save_env -f (xen/xvda)/grubenv pvx_test");
        await g.line("unset pvx_test");
        await g.line("load_env -f (xen/xvda)/grubenv");
        await g.line("echo value=$pvx_test");
        await g.expect(/value=kept_in_the_overlay/);
      } finally {
        await g.close();
      }
      const after = await Deno.readFile(img);
      ok(before.length === after.length && before.every((b, i) => b === after[i]), "file changed");
      // read-write: the write reaches the file (e2fsprogs reads it back).
      g = await grub(`${img},xvda`);
      try {
        await g.line("set pvx_test=written_by_grub");
        await g.line("save_env -f (xen/xvda)/grubenv pvx_test");
        await g.line("echo saved");
        await g.expect(/[\r\n]saved[\r\n]/);
      } finally {
        await g.close();
      }
      ok((await debugfsCat(img, "grubenv")).includes("pvx_test=written_by_grub\n"));
    } finally {
      await Deno.remove(img);
    }
  },
});
