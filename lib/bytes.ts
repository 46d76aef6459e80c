/**
 * Byte-array helpers shared by every layer (no dependencies).
 * @module
 */

/**
 * The chunks joined into one new array.
 * @param chunks the arrays, in order
 * @param total their total length, when the caller already keeps it
 */
export function concatBytes(
  chunks: readonly Uint8Array[],
  total: number = chunks.reduce((a, c) => a + c.length, 0),
): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
