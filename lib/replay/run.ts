/**
 * For `pvx replay`: re-drives one recorded stream against a fresh backend on a
 * ReplayHost and reports divergences (compare mode) or broken invariants (model mode).
 * @module
 */
import type { DiskImage } from "../blkfront/mod.ts";
import type { Block, Recording, StreamConfig } from "./recording_format.ts";
import { ReplayHost } from "./recording_replay_host.ts";
import type { Divergence, LateWrite, ReplayView, Violation } from "./recording_replay_types.ts";
import {
  type BackendFactory,
  defaultBackend,
  describeGrant,
  describeSlot,
  type ReplayedBackend,
  streamAbi,
  unansweredRequests,
} from "./backends.ts";

/** The outcome for one stream. */
export interface StreamReport {
  /** Stream name ("vbd-51712"). */
  ring: string;
  /** Device kind. */
  kind: string;
  /** Inputs delivered (events, watch fires, deferred runs). */
  inputs: number;
  /** Host calls the backend made. */
  calls: number;
  /** Calls and pages compared equal or not. */
  compared: number;
  /** Differences from the recording. */
  divergences: Divergence[];
  /** Invariants broken. */
  violations: Violation[];
}

/** Options of {@link replayStream}. */
export interface ReplayStreamOptions {
  /** "compare" (default) or "model" (fuzzing: invariants only). */
  mode?: "compare" | "model";
  /** Builds the backend (default {@link defaultBackend}). */
  factory?: BackendFactory;
  /** Racing page writes (fuzzing). */
  lateWrites?: readonly LateWrite[];
  /** Called after each top-level input. */
  afterInput?: (host: ReplayView) => void;
  /** Host-call bound (a hang). */
  maxSteps?: number;
  /** A vbd's image when the recording does not embed it (`--disk NAME=PATH`). */
  image?: DiskImage;
  /** Called with the backend once built (pcap export). */
  onBackend?: (b: ReplayedBackend) => void;
}

/** The blocks of stream `sid`. */
export function streamBlocks(rec: Recording, sid: number): Block[] {
  return rec.blocks.filter((b) => b.stream === sid);
}

/**
 * Replays stream `sid` of `rec`, or `blocks` in its place (mutated blocks when fuzzing).
 * @returns the report
 */
export async function replayStream(
  rec: Recording,
  sid: number,
  opts: ReplayStreamOptions = {},
  blocks: readonly Block[] = streamBlocks(rec, sid),
): Promise<StreamReport> {
  const config: StreamConfig = rec.streams.get(sid)!;
  const abi = streamAbi(blocks);
  const model = opts.mode === "model";
  const host = new ReplayHost(config, blocks, {
    mode: opts.mode,
    describe: describeSlot(config, abi),
    describeGrant: describeGrant(config, abi),
    maxSteps: opts.maxSteps,
    lateWrites: opts.lateWrites,
    afterInput: opts.afterInput,
    // a vbd served from a real file (`--disk`) completes reads when the host gets to them
    hostIoPatienceMs: opts.image ? 3000 : 0,
  });
  const report: StreamReport = {
    ring: config.name,
    kind: config.kind,
    inputs: 0,
    calls: 0,
    compared: 0,
    divergences: host.divergences,
    violations: host.violations,
  };
  let backend: ReplayedBackend | undefined;
  try {
    backend = (opts.factory ?? defaultBackend)(host, config, rec.disks.get(sid), opts.image);
  } catch (e) {
    if (!model) throw e;
    host.violations.push({ ring: config.name, input: 0, what: `backend setup threw: ${e}` });
  }
  if (backend) {
    opts.onBackend?.(backend);
    await host.run();
    if (model) {
      await host.kickAll();
      const keys = [1, 2].map((id) => host.recordedMapKey(id) ?? "");
      const left = unansweredRequests(config, abi, host.liveMaps(), keys);
      if (left > 0 && !backend.disconnected()) {
        host.violations.push({
          ring: config.name,
          input: host.stats.inputs,
          what: `${left} request(s) never answered and the device did not disconnect`,
        });
      }
    }
    try {
      const b = backend;
      // in-memory I/O finishes at once; a backend still busy after this is stuck
      await host.teardown(() => withTimeout(b.stop(), model ? 250 : 2000));
    } catch (e) {
      host.violations.push({ ring: config.name, input: host.stats.inputs, what: `stop: ${e}` });
    }
  }
  report.inputs = host.stats.inputs;
  report.calls = host.stats.outputs;
  report.compared = host.stats.compared;
  return report;
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((_, rej) => {
    t = setTimeout(() => rej(new Error(`backend did not stop within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}
