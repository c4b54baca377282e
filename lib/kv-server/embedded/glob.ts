/**
 * Redis's glob matcher (stringmatchlen in util.c), ported byte for byte so
 * KEYS/SCAN MATCH select exactly the keys Redis would: it works on UTF-8
 * bytes ("?" is one byte, not one character), compares bytes as signed C
 * chars in [a-z] ranges, tolerates an unterminated "[", and gives up after
 * 1000 levels of "*" nesting.
 */

export type KeyMatcher = (candidate: string) => boolean;

export function compileGlob(pattern: string): KeyMatcher {
  if (pattern === "*") return () => true;
  const pat = toSignedBytes(pattern);
  return (candidate) => matches(pat, 0, pat.length, toSignedBytes(candidate), 0, { skipLonger: false }, 0);
}

function toSignedBytes(text: string): Int8Array {
  const bytes = Buffer.from(text, "utf8");
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

const STAR = 42; // *
const QUESTION = 63; // ?
const OPEN = 91; // [
const CLOSE = 93; // ]
const BACKSLASH = 92;
const CARET = 94; // ^
const DASH = 45; // -

/** Reading past the end yields 0, like the NUL terminator C relies on. */
function at(bytes: Int8Array, index: number): number {
  return index < bytes.length ? (bytes[index] ?? 0) : 0;
}

function matches(
  pat: Int8Array,
  p: number,
  patLen: number,
  str: Int8Array,
  s: number,
  state: { skipLonger: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  let strLen = str.length - s;
  while (patLen > 0 && strLen > 0) {
    const c = at(pat, p);
    if (c === STAR) {
      while (patLen > 0 && at(pat, p + 1) === STAR) {
        p++;
        patLen--;
      }
      if (patLen === 1) return true;
      while (strLen > 0) {
        if (matches(pat, p + 1, patLen - 1, str, s, state, nesting + 1)) return true;
        if (state.skipLonger) return false;
        s++;
        strLen--;
      }
      // Nothing after this star matches anywhere in the rest of the string,
      // so earlier stars cannot help either.
      state.skipLonger = true;
      return false;
    } else if (c === QUESTION) {
      s++;
      strLen--;
    } else if (c === OPEN) {
      p++;
      patLen--;
      const negate = at(pat, p) === CARET;
      if (negate) {
        p++;
        patLen--;
      }
      let match = false;
      const sc = at(str, s);
      for (;;) {
        if (at(pat, p) === BACKSLASH && patLen >= 2) {
          p++;
          patLen--;
          if (at(pat, p) === sc) match = true;
        } else if (at(pat, p) === CLOSE) {
          break;
        } else if (patLen === 0) {
          p--;
          patLen++;
          break;
        } else if (patLen >= 3 && at(pat, p + 1) === DASH) {
          let start = at(pat, p);
          let end = at(pat, p + 2);
          if (start > end) [start, end] = [end, start];
          p += 2;
          patLen -= 2;
          if (sc >= start && sc <= end) match = true;
        } else if (at(pat, p) === sc) {
          match = true;
        }
        p++;
        patLen--;
      }
      if (negate) match = !match;
      if (!match) return false;
      s++;
      strLen--;
    } else {
      if (c === BACKSLASH && patLen >= 2) {
        p++;
        patLen--;
      }
      if (at(pat, p) !== at(str, s)) return false;
      s++;
      strLen--;
    }
    p++;
    patLen--;
    if (strLen === 0) {
      while (at(pat, p) === STAR) {
        p++;
        patLen--;
      }
      break;
    }
  }
  return patLen === 0 && strLen === 0;
}
