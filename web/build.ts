/**
 * `deno task web`: builds the static page into web/dist/ (git-ignored): the bundle of
 * web/src/main.ts (`deno bundle`, esbuild inside, for the browser), the HTML and CSS,
 * xterm.js's stylesheet from the npm cache, and the built-in guest image.
 * @module
 */

const webDir = new URL("./", import.meta.url);
const root = new URL("../", import.meta.url);
const dist = new URL("./dist/", webDir);

/** A file: URL as a path. */
function fromFileUrl(u: URL): string {
  return decodeURIComponent(u.pathname);
}

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    cwd: fromFileUrl(root),
  })
    .output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Where Deno keeps the npm package's files (its global npm cache). */
async function npmFile(pkg: string, file: string): Promise<string> {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  const spec: string = cfg.imports[pkg];
  const version = spec.slice(spec.lastIndexOf("@") + 1);
  const info = JSON.parse(await run(Deno.execPath(), ["info", "--json"]));
  return `${info.npmCache}/registry.npmjs.org/${pkg}/${version}/${file}`;
}

/**
 * Builds the page into web/dist/.
 * @returns the bundle's size in bytes
 */
export async function buildWeb(): Promise<number> {
  await Deno.mkdir(dist, { recursive: true });
  await run(Deno.execPath(), [
    "bundle",
    "--platform",
    "browser",
    "--minify",
    "--sourcemap",
    "linked",
    "-o",
    fromFileUrl(new URL("pvx-web.js", dist)),
    fromFileUrl(new URL("src/main.ts", webDir)),
  ]);
  await run(Deno.execPath(), [
    "bundle",
    "--platform",
    "browser",
    "--minify",
    "-o",
    fromFileUrl(new URL("inspect-worker.js", dist)),
    fromFileUrl(new URL("src/inspect_worker.ts", webDir)),
  ]);
  for (const f of ["index.html", "style.css"]) {
    await Deno.copyFile(new URL(f, webDir), new URL(f, dist));
  }
  await Deno.copyFile(await npmFile("@xterm/xterm", "css/xterm.css"), new URL("xterm.css", dist));
  await Deno.copyFile(new URL("guest/pvx-guest.elf", root), new URL("pvx-guest.elf", dist));
  return (await Deno.stat(new URL("pvx-web.js", dist))).size;
}

if (import.meta.main) {
  const t0 = performance.now();
  const size = await buildWeb();
  console.log(
    `web/dist: pvx-web.js ${(size / 1024).toFixed(0)} KiB, built in ${
      Math.round(performance.now() - t0)
    } ms`,
  );
}
