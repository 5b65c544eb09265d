import type { SessionRecord } from '../stores/store.js';

/**
 * This instance's copy of the sessions it resolved recently (the stateful strategy's cached mode).
 * Bounded: past `maxEntries`, the entry cached longest ago goes first. It holds no authority of
 * its own: whoever serves from it checks the revocation list and the touch interval first.
 */
export function createSessionCache(maxEntries: number) {
  const records = new Map<string, SessionRecord>();
  return {
    get: (idHash: string): SessionRecord | undefined => records.get(idHash),
    set(record: SessionRecord): void {
      records.delete(record.idHash);
      if (records.size >= maxEntries) records.delete(records.keys().next().value as string);
      records.set(record.idHash, record);
    },
    delete: (idHash: string): boolean => records.delete(idHash),
  };
}
