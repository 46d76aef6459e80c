/**
 * `pvx replay FILE`: the command's options go to lib/replay (replay.ts), which re-drives a
 * ring recording against fresh backends, fuzzes them, or exports the traffic.
 * @module
 */
import { type ReplayOptions, replayRecording } from "../lib/toolstack/mod.ts";

export type { ReplayOptions, ReplayReport } from "../lib/toolstack/mod.ts";

/**
 * Runs `pvx replay`.
 * @returns 0 no divergence / no failure, 1 divergence or invariant broken
 */
export async function run(opts: ReplayOptions): Promise<number> {
  return await replayRecording(opts);
}
