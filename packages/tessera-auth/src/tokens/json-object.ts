/**
 * Parses a JSON object from a token segment, refusing duplicate top-level members. JSON.parse keeps
 * the last of two equal names, while other parsers keep the first: a token with two "alg" or two
 * "sub" would mean different things to different verifiers.
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return hasDuplicateMembers(text) ? undefined : (value as Record<string, unknown>);
}

/** Scans already-valid JSON for a repeated name among the outermost object's members. */
function hasDuplicateMembers(json: string): boolean {
  const names = new Set<string>();
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < json.length; i++) {
        const d = json.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      if (depth === 1 && expectName) {
        const raw = json.slice(start + 1, i);
        const name = escaped ? (JSON.parse(json.slice(start, i + 1)) as string) : raw;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 1) expectName = true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      expectName = true;
    }
  }
  return false;
}
