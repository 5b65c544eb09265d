import { isIPv4, isIPv6 } from 'node:net';

/**
 * What one client is, for every per-address limit: an IPv4 address, or the /64 an IPv6 address
 * lies in. A single host is routinely handed a whole /64 (RFC 6177, SLAAC privacy addresses), so
 * counting each of its 2^64 addresses apart would give one attacker that many fresh counters. An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket sees IPv4) is its IPv4 address.
 */
export function clientNetwork(address: string): string {
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address.replace(/%.*$/, ''));
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = [groups[6]!, groups[7]!];
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part converted). */
function ipv6Groups(address: string): number[] {
  const toGroups = (part: string) =>
    part === ''
      ? []
      : part.split(':').flatMap((group) => {
          if (!group.includes('.')) return [parseInt(group, 16)];
          const [a, b, c, d] = group.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const first = toGroups(head);
  const last = tail === undefined ? [] : toGroups(tail);
  return [...first, ...Array<number>(8 - first.length - last.length).fill(0), ...last];
}
