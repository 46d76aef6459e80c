/**
 * `deno task web:serve [PORT]`: serves web/dist/ on 127.0.0.1 (default port 8023), the
 * static page `deno task web` builds. Also the browser tests' server ({@link serveDist}).
 * @module
 */

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json",
  elf: "application/octet-stream",
};

/** The page's folder. */
export const DIST_DIR: URL = new URL("./dist/", import.meta.url);

/**
 * Serves `dir` on 127.0.0.1:`port` (0: any free port).
 * @returns the server and its base URL
 */
export function serveDist(
  port = 8023,
  dir: URL = DIST_DIR,
  onListen?: (url: string) => void,
): { server: Deno.HttpServer; url: Promise<string> } {
  let ready!: (u: string) => void;
  const url = new Promise<string>((r) => (ready = r));
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port,
    onListen: ({ port }) => {
      const u = `http://127.0.0.1:${port}/`;
      ready(u);
      onListen?.(u);
    },
  }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    const rel = path === "/" ? "index.html" : path.slice(1);
    if (rel.split("/").some((p) => p === ".." || p === "")) {
      return new Response("not found", { status: 404 });
    }
    try {
      const body = await Deno.readFile(new URL(rel, dir));
      const ext = rel.slice(rel.lastIndexOf(".") + 1);
      return new Response(body, {
        headers: {
          "content-type": TYPES[ext] ?? "application/octet-stream",
          "cache-control": "no-store",
        },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return { server, url };
}

if (import.meta.main) {
  try {
    await Deno.stat(new URL("index.html", DIST_DIR));
  } catch {
    console.error("pvx: web/dist is missing: run `deno task web` first");
    Deno.exit(2);
  }
  const port = Deno.args[0] !== undefined ? Number(Deno.args[0]) : 8023;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`pvx: bad port "${Deno.args[0]}"`);
    Deno.exit(2);
  }
  serveDist(port, DIST_DIR, (u) => console.log(`pvx web: ${u} (Ctrl-C stops)`));
}
