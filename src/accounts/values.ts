// The account system's plain values, shared by its modules (index.ts re-exports them): a module of its
// own, so that sign-ups and the rest import them without importing index.ts, which imports them.

/** What a session needs to know about its user. */
export type SessionUser = { id: number; credentialVersion: number };
/** `pictureHash` names the profile picture (src/pictures/); null when there is none. */
export type Profile = SessionUser & { username: string; email: string; createdAt: Date; pictureHash: string | null };
export type FieldErrors = Record<string, string>;

/** Emails are compared and stored trimmed and lower-cased; nothing else is folded. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}
