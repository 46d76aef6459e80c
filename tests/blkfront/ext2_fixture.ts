/**
 * Builds small ext2 images for the vbd tests with e2fsprogs (`mke2fs -d` copies a
 * directory tree in; `debugfs` reads files back as the reference).
 * @module
 */

/** Whether mke2fs and debugfs are installed (Debian package e2fsprogs). */
export async function haveE2fsprogs(): Promise<boolean> {
  for (const tool of ["mke2fs", "debugfs"]) {
    const ok = await new Deno.Command(tool, { args: ["-V"], stdout: "null", stderr: "null" })
      .output().then(() => true, () => false);
    if (!ok) return false;
  }
  return true;
}

/**
 * Creates an ext2 image holding `files` (path -> content; directories are made).
 * @param path the image to create (overwritten)
 * @param files the files, e.g. { "hello.txt": "hello\n" }
 * @param kib image size in KiB (default 4096)
 */
export async function buildExt2Image(
  path: string,
  files: Record<string, string | Uint8Array>,
  kib = 4096,
): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    for (const [name, content] of Object.entries(files)) {
      const full = `${root}/${name}`;
      await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
      if (typeof content === "string") await Deno.writeTextFile(full, content);
      else await Deno.writeFile(full, content);
    }
    const out = await new Deno.Command("mke2fs", {
      args: ["-q", "-F", "-t", "ext2", "-b", "1024", "-d", root, path, String(kib)],
      stdout: "piped",
      stderr: "piped",
      env: { E2FSPROGS_FAKE_TIME: "1700000000" },
    }).output();
    if (!out.success) {
      throw new Error(`mke2fs failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** `debugfs -R "cat PATH" image`: the reference reader. */
export async function debugfsCat(image: string, file: string): Promise<string> {
  const out = await new Deno.Command("debugfs", {
    args: ["-R", `cat /${file}`, image],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
