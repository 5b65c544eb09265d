import type { RevocationFollower } from './store.js';

/** What a feed follower keeps current as it reads (see `RevocationFollower`). */
export interface FollowerState {
  lastContact: number;
  connected: boolean;
  position: string;
}

/** The `RevocationFollower` a feed hands out: a live, read-only view of its state. */
export function followerOf(ready: Promise<void>, state: FollowerState, stop: () => void): RevocationFollower {
  return {
    ready,
    stop,
    get lastContact() {
      return state.lastContact;
    },
    get connected() {
      return state.connected;
    },
    get position() {
      return state.position;
    },
  };
}
