/**
 * The architecture check (`deno task arch`): package layering, imports between packages only
 * through their `mod.ts` face, package import cycles, exported constants defined twice, file
 * sizes. `analyzeTree` works on any map of path -> source, so the
 * test suite can plant violations in a fake tree.
 * @module
 */

/** Package -> layer. A package may import only packages on a strictly lower layer. */
export const LAYERS: Readonly<Record<string, number>> = {
  base: 0, // lib/errors.ts, lib/version.ts
  abi: 1,
  cpu: 2,
  paging: 3,
  hypervisor: 4,
  console: 5,
  blkfront: 5,
  netfront: 5,
  trace: 6,
  replay: 6,
  gdbstub: 6,
  toolstack: 7,
  tools: 8,
  cli: 9,
};

/** Largest allowed file (lines) in lib/ and tools/. */
export const MAX_LINES = 600;

/**
 * Files allowed past MAX_LINES for now, each with the work that splits it. Remove an entry
 * when its file shrinks (the check fails on a stale entry).
 */
export const OVERSIZE_ALLOWED: Readonly<Record<string, string>> = {};

/** The package a repository path belongs to, or undefined when it is not layered (tests, bench). */
export function packageOf(path: string): string | undefined {
  if (path === "cli.ts" || path === "mod.ts") return "cli";
  if (path.startsWith("tools/")) return "tools";
  const m = /^lib\/([^/]+)\//.exec(path);
  if (m) return m[1];
  if (/^lib\/[^/]+\.ts$/.test(path)) return "base";
  return undefined;
}

/** Relative imports of one source file, resolved to repository paths. */
export function importsOf(path: string, source: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|[\n;])\s*(?:import|export)\s(?:[^;"']*?\sfrom\s*)?["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;
  for (const m of source.matchAll(re)) {
    const spec = m[1] ?? m[2];
    out.push(resolve(path, spec));
  }
  return out;
}

function resolve(from: string, spec: string): string {
  const parts = from.split("/");
  parts.pop();
  for (const seg of spec.split("/")) {
    if (seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
}

/**
 * Names of the exported constants a source defines (`export const A = 1, B = 2;` gives A and
 * B; re-exports define nothing).
 */
export function exportedConstants(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^export const ([^\n]*)/gm)) {
    // the first declarator, then any further ones of a one-line `, B = ...` list
    const first = /^([A-Za-z_$][\w$]*)/.exec(m[1]);
    if (first) out.push(first[1]);
    if (!m[1].trimEnd().endsWith(";")) continue;
    let depth = 0;
    let start = -1;
    const line = m[1];
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") depth--;
      else if (c === "," && depth === 0) start = i + 1;
      if (start >= 0) {
        const d = /^\s*([A-Za-z_$][\w$]*)\s*(?::[^=]*)?=/.exec(line.slice(start));
        if (d) out.push(d[1]);
        start = -1;
      }
    }
  }
  return out;
}

/** One finding of the check. */
export interface Violation {
  kind: "layer" | "face" | "cycle" | "duplicate" | "size" | "unknown-package";
  message: string;
}

/** Figures and violations of one tree. */
export interface ArchReport {
  violations: Violation[];
  /** Exported constant names defined in more than one file, with the files. */
  duplicates: Map<string, string[]>;
  /** Package-level import cycles (strongly connected components of more than one package). */
  packageCycles: string[][];
  /** Folder-level import cycles (each directory as a node). */
  folderCycles: string[][];
  /** Lines per package. */
  linesPerPackage: Map<string, number>;
  /** Files sorted by size, largest first. */
  largest: Array<[string, number]>;
}

/** Analyzes a tree given as path -> source (paths relative to the repository root). */
export function analyzeTree(files: ReadonlyMap<string, string>): ArchReport {
  const violations: Violation[] = [];
  const pkgEdges = new Map<string, Set<string>>();
  const dirEdges = new Map<string, Set<string>>();
  const defs = new Map<string, string[]>();
  const linesPerPackage = new Map<string, number>();
  const sizes: Array<[string, number]> = [];
  for (const [path, source] of files) {
    const lines = source.split("\n").length - (source.endsWith("\n") ? 1 : 0);
    const pkg = packageOf(path);
    if (pkg !== undefined) {
      sizes.push([path, lines]);
      linesPerPackage.set(pkg, (linesPerPackage.get(pkg) ?? 0) + lines);
      if (!(pkg in LAYERS)) {
        violations.push({
          kind: "unknown-package",
          message: `${path}: package "${pkg}" has no layer in tools/arch.ts LAYERS`,
        });
      }
      if (path.startsWith("lib/") || path.startsWith("tools/")) {
        const allowed = path in OVERSIZE_ALLOWED;
        if (lines > MAX_LINES && !allowed) {
          violations.push({ kind: "size", message: `${path}: ${lines} lines (max ${MAX_LINES})` });
        } else if (lines <= MAX_LINES && allowed) {
          violations.push({
            kind: "size",
            message: `${path}: ${lines} lines; remove it from OVERSIZE_ALLOWED in tools/arch.ts`,
          });
        }
      }
      for (const name of exportedConstants(source)) {
        const list = defs.get(name) ?? [];
        list.push(path);
        defs.set(name, list);
      }
    }
    const dir = path.slice(0, path.lastIndexOf("/") + 1) || "./";
    for (const target of importsOf(path, source)) {
      const tpkg = packageOf(target);
      const tdir = target.slice(0, target.lastIndexOf("/") + 1) || "./";
      if (tdir !== dir) addEdge(dirEdges, dir, tdir);
      if (pkg === undefined || tpkg === undefined || tpkg === pkg) continue;
      addEdge(pkgEdges, pkg, tpkg);
      if (target.startsWith("lib/") && tpkg !== "base" && target !== `lib/${tpkg}/mod.ts`) {
        violations.push({
          kind: "face",
          message:
            `${path} imports ${target}: another package is reached through lib/${tpkg}/mod.ts`,
        });
      }
      const a = LAYERS[pkg];
      const b = LAYERS[tpkg];
      if (a !== undefined && b !== undefined && b >= a) {
        violations.push({
          kind: "layer",
          message:
            `${path} imports ${target}: ${pkg} (layer ${a}) may not import ${tpkg} (layer ${b})`,
        });
      }
    }
  }
  const duplicates = new Map<string, string[]>();
  for (const [name, where] of defs) {
    if (where.length > 1) {
      duplicates.set(name, where);
      violations.push({
        kind: "duplicate",
        message: `exported constant ${name} is defined in ${where.join(", ")}`,
      });
    }
  }
  const packageCycles = cycles(pkgEdges);
  for (const c of packageCycles) {
    violations.push({ kind: "cycle", message: `package import cycle: ${c.join(" <-> ")}` });
  }
  sizes.sort((x, y) => y[1] - x[1]);
  return {
    violations,
    duplicates,
    packageCycles,
    folderCycles: cycles(dirEdges),
    linesPerPackage,
    largest: sizes,
  };
}

function addEdge(edges: Map<string, Set<string>>, from: string, to: string): void {
  let set = edges.get(from);
  if (!set) edges.set(from, set = new Set());
  set.add(to);
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const nodes = new Set<string>([...edges.keys()]);
  for (const s of edges.values()) for (const n of s) nodes.add(n);
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const n of [...nodes].sort()) if (!index.has(n)) visit(n);
  return out;
}

/** Reads the layered sources of the repository at `root` (cli.ts, mod.ts, lib/, tools/). */
export async function readTree(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for await (const e of Deno.readDir(`${root}/${rel}`)) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && p.endsWith(".ts")) files.set(p, await Deno.readTextFile(`${root}/${p}`));
    }
  };
  for (const top of ["lib", "tools"]) await walk(top);
  for (const f of ["cli.ts", "mod.ts"]) files.set(f, await Deno.readTextFile(`${root}/${f}`));
  return files;
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--root");
  const root = at >= 0
    ? Deno.args[at + 1]
    : new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const report = analyzeTree(await readTree(root));
  if (Deno.args.includes("--figures")) {
    console.log(`duplicate exported constants: ${report.duplicates.size}`);
    for (const [n, w] of report.duplicates) console.log(`  ${n}: ${w.join(" ")}`);
    console.log(`package cycles: ${report.packageCycles.length}`);
    for (const c of report.packageCycles) console.log(`  ${c.join(" <-> ")}`);
    console.log(`folder cycles: ${report.folderCycles.length}`);
    for (const c of report.folderCycles) console.log(`  ${c.join(" <-> ")}`);
    console.log("largest files:");
    for (const [p, n] of report.largest.slice(0, 8)) console.log(`  ${n} ${p}`);
    console.log("lines per package:");
    for (const [p, n] of [...report.linesPerPackage].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${p}: ${n}`);
    }
  }
  for (const v of report.violations) console.error(`${v.kind}: ${v.message}`);
  console.log(`arch: ${report.violations.length} violation(s)`);
  if (report.violations.length > 0) Deno.exit(1);
}
