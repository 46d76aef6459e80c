/**
 * What a replay reports (divergences, broken invariants) and how it is driven (options,
 * racing writes), for ReplayHost (recording_replay_host.ts) and its users.
 * @module
 */

/** What export hooks see of a replay in progress. */
export interface ReplayView {
  /** Live replay pages with their keys ("g:domid:gref" or "f:domid:mfn"). */
  liveMaps(): { key: string; page: Uint8Array }[];
  /** The key of recorded map `mapId`, once seen. */
  recordedMapKey(mapId: number): string | undefined;
}

/** One difference between the recording and the replay. */
export interface Divergence {
  /** The stream's name. */
  ring: string;
  /** Index of the block (in the stream's blocks) where it showed. */
  block: number;
  /** The input being handled (its ordinal among the stream's inputs). */
  input: number;
  /** What differed, e.g. "copyToGrant data", "ring page", "missing call". */
  what: string;
  /** The recorded value. */
  expected: string;
  /** The replayed value. */
  got: string;
  /** The ring slot / request concerned, when known. */
  request?: string;
}

/** An invariant a backend broke (fuzzing). */
export interface Violation {
  /** The stream. */
  ring: string;
  /** The input being handled. */
  input: number;
  /** What happened. */
  what: string;
}

/** A write into a mapped page made in the middle of a callback (a frontend racing). */
export interface LateWrite {
  /** Ordinal of the input during which it happens. */
  input: number;
  /** After this many host calls of that callback. */
  afterCalls: number;
  /** The recorded map id of the page. */
  mapId: number;
  /** Runs as in GUEST_WRITE. */
  runs: Uint8Array;
}

/** Options of {@link ReplayHost}. */
export interface ReplayHostOptions {
  /** "compare" (default) or "model" (no comparison; fuzzing). */
  mode?: "compare" | "model";
  /** Names the request at `offset` of recorded map `mapId` (slot, id) for divergences. */
  describe?: (mapId: number, offset: number, page: Uint8Array) => string;
  /**
   * Names the request that references grant `gref`, given the recorded pages of maps 1
   * and 2 (the rings), for a divergence in copied data.
   */
  describeGrant?: (gref: number, rings: (Uint8Array | undefined)[]) => string | undefined;
  /** Host calls allowed before the run is declared hung (default 2,000,000). */
  maxSteps?: number;
  /** Writes racing the backend (fuzzing). */
  lateWrites?: readonly LateWrite[];
  /** Called after each top-level input was handled (exports). */
  afterInput?: (host: ReplayView) => void;
  /**
   * How long to wait for host I/O before calling an awaited output missing (default 0:
   * a bounded number of event-loop turns, enough for in-memory images). Set it when a
   * backend reads a real file, whose reads complete when the host gets to them.
   */
  hostIoPatienceMs?: number;
}

/** Thrown inside a host call when the step bound is exceeded. */
export class ReplayStepLimit extends Error {
  override name = "ReplayStepLimit";
}
