import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../base/errors.js';
import * as lua from './redis-scripts.js';

export type Script = { lua: string; sha: string };
const script = (lua: string): Script => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });

export const SCRIPTS = {
  createSession: script(lua.CREATE_SESSION),
  touchSession: script(lua.TOUCH_SESSION),
  updateSessionData: script(lua.UPDATE_SESSION_DATA),
  rotateRefresh: script(lua.ROTATE_REFRESH),
  deleteSession: script(lua.DELETE_SESSION),
  listUserSessions: script(lua.LIST_USER_SESSIONS),
  advanceGeneration: script(lua.ADVANCE_GENERATION),
  createUser: script(lua.CREATE_USER),
  deleteIfEqual: script(lua.DELETE_IF_EQUAL),
  updateUser: script(lua.UPDATE_USER),
  addToCounter: script(lua.ADD_TO_COUNTER),
  readCounter: script(lua.READ_COUNTER),
  acknowledge: script(lua.ACKNOWLEDGE),
  behind: script(lua.BEHIND),
};

/** Runs commands and scripts; any failure is the store being unavailable (503). */
export function scriptRunner(client: Redis | Cluster) {
  /** Every command goes through here: any failure is the store being unavailable. */
  const call = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  };

  const run = (s: Script, keys: string[], args: (string | number)[]): Promise<unknown> =>
    call(async () => {
      try {
        return await client.evalsha(s.sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await client.eval(s.lua, keys.length, ...keys, ...args);
      }
    });

  return { call, run };
}
