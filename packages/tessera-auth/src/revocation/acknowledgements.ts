import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AcknowledgementStore, RevocationFollower } from '../stores/store.js';

/** How a change waited for the other instances (see `Acknowledgements.applied`). */
export interface Acknowledged {
  /** From the entry's write to the last acknowledgement needed, ms. */
  readonly waitedMs: number;
  /** Instances still heard from but short of the entry when the wait gave up (empty: the guarantee holds). */
  readonly unacknowledged: readonly string[];
}

/** Between two reads of where the others are, while a change waits (ms). */
const POLL_MS = 2;

/** Positions are dash-separated integers, compared piece by piece (see `RevocationStore.acknowledgements`). */
function comparePositions(a: string, b: string): number {
  const [left, right] = [a.split('-').map(Number), b.split('-').map(Number)];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/**
 * This instance's part in acknowledged revocation. It tells the store where it is (the feed
 * position it has applied) after each entry and twice a second, but only while its feed answers;
 * and it trusts its copy only while it has said so recently (`fresh`). A change waits (`applied`)
 * until every instance heard from within the staleness bound has applied its entry: one that has
 * not been heard from for that long refuses on its own, since its last word is as old. Ages are
 * measured by the store's clock on one side and by elapsed time since sending on the other, so no
 * two clocks are ever compared.
 */
export function createAcknowledgements(
  store: AcknowledgementStore,
  followerOf: () => RevocationFollower | undefined,
  maxStalenessMs: number,
) {
  const instance = randomBytes(12).toString('base64url');
  // Feed answers come every half second: an older last answer means the feed is stuck, and this
  // instance stops vouching for itself (so the others stop waiting for it, and it refuses).
  const contactWindowMs = Math.min(maxStalenessMs, 1500);
  const heartbeatMs = Math.min(500, maxStalenessMs / 4);
  // When the last acknowledgement that succeeded was sent (performance.now).
  let acknowledgedAt = -Infinity;
  let sending = false;
  let again = false;

  /** The position to acknowledge: only while this instance follows a feed that answers. */
  const applied = (): string | undefined => {
    const follower = followerOf();
    if (!follower?.connected || follower.position === '' || Date.now() - follower.lastContact > contactWindowMs) return undefined;
    return follower.position;
  };

  async function acknowledge(): Promise<void> {
    if (sending) {
      again = true; // the one in flight may carry an older position
      return;
    }
    sending = true;
    try {
      do {
        again = false;
        const position = applied();
        if (position === undefined) return;
        const sentAt = performance.now();
        await store.acknowledge(instance, position);
        acknowledgedAt = sentAt;
      } while (again);
    } catch {
      // The store did not take it: this instance goes stale unless a later one succeeds.
    } finally {
      sending = false;
    }
  }
  const heartbeat = setInterval(() => void acknowledge(), heartbeatMs).unref();

  const waiting: { position: string; since: number; done: (outcome: Acknowledged) => void }[] = [];
  let polling = false;
  const giveUpAfterMs = maxStalenessMs + contactWindowMs + 500;

  async function poll(): Promise<void> {
    polling = true;
    try {
      while (waiting.length > 0) {
        const target = waiting.map((wait) => wait.position).reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
        let behind: string[];
        try {
          behind = (await store.behind(target, maxStalenessMs)).filter((other) => other !== instance);
        } catch {
          behind = ['(the store did not answer)'];
        }
        const now = performance.now();
        for (const wait of [...waiting]) {
          const reached = behind.length === 0 && comparePositions(wait.position, target) <= 0;
          if (!reached && now - wait.since <= giveUpAfterMs) continue;
          waiting.splice(waiting.indexOf(wait), 1);
          wait.done({ waitedMs: now - wait.since, unacknowledged: reached ? [] : behind });
        }
        if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      polling = false;
    }
  }

  return {
    instance,
    /** Tells the store where this instance is now (after applying entries): coalesced, never throws. */
    acknowledge,
    /** Whether this instance has vouched for its copy within the bound: if not, others no longer wait for it. */
    fresh: () => performance.now() - acknowledgedAt <= maxStalenessMs,
    /** Resolves once every instance heard from within the bound has applied the entry at `position`. */
    applied(position: string): Promise<Acknowledged> {
      return new Promise((done) => {
        waiting.push({ position, since: performance.now(), done });
        if (!polling) void poll();
      });
    },
    /** Stops the heartbeat and leaves; changes still waiting answer at once, as unacknowledged. */
    close(): void {
      clearInterval(heartbeat);
      for (const wait of waiting.splice(0)) wait.done({ waitedMs: performance.now() - wait.since, unacknowledged: ['(closed)'] });
      store.leave(instance).catch(() => {});
    },
  };
}
