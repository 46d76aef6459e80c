/**
 * Random instruction-like byte strings for the decoder tests.
 * @module
 */

/** Deterministic xorshift PRNG. */
export function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

const PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65];

/** Fills `n` 16-byte strings: random, 0F-map biased, and prefix biased. */
export function randomStrings(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  const buf = new Uint8Array(n * 16);
  for (let k = 0; k < n; k++) {
    const o = k * 16;
    for (let j = 0; j < 16; j++) buf[o + j] = next() & 0xff;
    const mode = next() & 3;
    if (mode === 1) buf[o] = 0x0f;
    else if (mode === 2) {
      const np = 1 + (next() % 3);
      for (let j = 0; j < np; j++) buf[o + j] = PREFIXES[next() % PREFIXES.length];
      if (next() & 1) buf[o + np] = 0x0f;
    }
  }
  return buf;
}
