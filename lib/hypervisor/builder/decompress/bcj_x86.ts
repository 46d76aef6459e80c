/**
 * The x86 BCJ filter decoder of the xz format (filter ID 0x04): turns the absolute
 * addresses the encoder stored in E8/E9 (call/jmp rel32) operands back into relative ones.
 * @module
 */

/** Which recent-E8/E9 masks allow a conversion, and the byte to test for each. */
const MASK_ALLOWED = [true, true, true, false, true, false, false, false];
const MASK_BIT = [0, 1, 2, 2, 3, 3, 3, 3];

function msByteOk(b: number): boolean {
  return b === 0 || b === 0xff;
}

/**
 * Decodes a whole filtered buffer in place (one call covers one xz block).
 * @param buf the block's output (after LZMA2)
 * @param startOffset the filter's start offset property (usually 0)
 */
export function bcjX86Decode(buf: Uint8Array, startOffset = 0): void {
  if (buf.length < 5) return;
  let prevMask = 0;
  let prevPos = -5; // relative to the buffer start
  const limit = buf.length - 5;
  let i = 0;
  while (i <= limit) {
    const op = buf[i];
    if (op !== 0xe8 && op !== 0xe9) {
      i++;
      continue;
    }
    const gap = i - prevPos;
    prevPos = i;
    if (gap > 5) {
      prevMask = 0;
    } else {
      for (let k = 0; k < gap; k++) prevMask = (prevMask & 0x77) << 1;
    }
    let b = buf[i + 4];
    if (msByteOk(b) && MASK_ALLOWED[(prevMask >>> 1) & 7] && (prevMask >>> 1) < 0x10) {
      let src = ((b << 24) | (buf[i + 3] << 16) | (buf[i + 2] << 8) | buf[i + 1]) >>> 0;
      let dest: number;
      for (;;) {
        dest = (src - (startOffset + i + 5)) >>> 0;
        if (prevMask === 0) break;
        const sh = MASK_BIT[prevMask >>> 1] * 8;
        b = (dest >>> (24 - sh)) & 0xff;
        if (!msByteOk(b)) break;
        src = (dest ^ (2 ** (32 - sh) - 1)) >>> 0;
      }
      buf[i + 4] = (dest >>> 24) & 1 ? 0xff : 0;
      buf[i + 3] = (dest >>> 16) & 0xff;
      buf[i + 2] = (dest >>> 8) & 0xff;
      buf[i + 1] = dest & 0xff;
      i += 5;
      prevMask = 0;
    } else {
      i++;
      prevMask |= 1;
      if (msByteOk(b)) prevMask |= 0x10;
    }
  }
}
