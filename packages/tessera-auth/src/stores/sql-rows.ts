import type { SessionData, SessionRecord, UserRecord } from './store.js';

/** A session as the SQL stores (SQLite, PostgreSQL) keep it: one column a field, JSON for the lists. */
export interface SessionRow {
  id_hash: string;
  user_id: string;
  user_name: string | null;
  roles: string;
  created_at: number;
  last_seen_at: number;
  absolute_expires_at: number;
  user_agent: string;
  ip: string;
  data: string;
  version: number;
  refresh_hash: string | null;
  refresh_issued_at: number | null;
  /** Added later: absent from rows of databases that predate DPoP. */
  refresh_jkt?: string | null;
  refresh_spent: string | null;
  /** Added later: absent from rows of databases that predate OAuth clients. */
  client_id?: string | null;
}

/** An account as the SQL stores keep it. */
export interface UserRow {
  id: string;
  username: string;
  password_hash: string;
  roles: string;
  created_at: number;
}

export const toSession = (row: SessionRow): SessionRecord => ({
  idHash: row.id_hash,
  userId: row.user_id,
  userName: row.user_name ?? undefined,
  roles: JSON.parse(row.roles) as string[],
  createdAt: row.created_at,
  lastSeenAt: row.last_seen_at,
  absoluteExpiresAt: row.absolute_expires_at,
  userAgent: row.user_agent,
  ip: row.ip,
  data: JSON.parse(row.data) as SessionData,
  version: row.version,
  ...(row.refresh_hash !== null && {
    refresh: {
      hash: row.refresh_hash,
      issuedAt: row.refresh_issued_at ?? 0,
      spent: row.refresh_spent ?? '',
      ...(typeof row.refresh_jkt === 'string' && { jkt: row.refresh_jkt }),
    },
  }),
  ...(typeof row.client_id === 'string' && { clientId: row.client_id }),
});

export const toUser = (row: UserRow): UserRecord => ({
  id: row.id,
  username: row.username,
  passwordHash: row.password_hash,
  roles: JSON.parse(row.roles) as string[],
  createdAt: row.created_at,
});
