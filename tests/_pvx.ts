/** Runs the `pvx` CLI (cli.ts) in a child Deno process, for the CLI tests. */

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const dec = new TextDecoder();

/** What a `pvx` run printed and returned. */
export interface PvxRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pvx ARGS...` with stdin closed and colours off.
 * @returns the exit code and the decoded output
 */
export async function pvx(...args: string[]): Promise<PvxRun> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
