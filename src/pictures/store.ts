// The picture table's statements, each inside the caller's transaction. Pictures are shared by hash
// (the same bytes are one row), so a row goes only once nobody points at it.
import { LockMode } from '@mikro-orm/core';
import { toDatabaseDate } from '../db/dates.ts';
import type { EntityManager } from '../db/orm.ts';
import { Picture, User } from '../db/entities.ts';

/**
 * Stores the bytes under their hash, or, when the row exists, marks it used now: the row stays
 * locked until the transaction ends, so neither the sweep nor another user's removal can delete it
 * between this and the pointer being written.
 */
export async function keepPicture(tx: EntityManager, hash: string, bytes: Buffer, at: Date): Promise<void> {
  await tx.execute(
    'insert into picture (hash, bytes, created_at) values (?, ?, ?) on conflict (hash) do update set created_at = excluded.created_at',
    [hash, bytes, toDatabaseDate(tx, at)],
  );
}

/**
 * Deletes the picture unless some user still points at it. The row is locked first, so a concurrent
 * `keepPicture` is seen; a row someone else holds is skipped rather than waited for (two users
 * swapping the same two pictures would otherwise deadlock), and the sweep takes it later if it is unused.
 */
export async function forgetIfUnreferenced(tx: EntityManager, hash: string): Promise<void> {
  const row = await tx.findOne(Picture, { hash }, { fields: ['hash'], lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE });
  if (!row) return;
  if ((await tx.count(User, { pictureHash: hash })) === 0) await tx.nativeDelete(Picture, { hash });
}

/** The user's current picture hash, with the user's row locked: one change to a user's picture at a time. */
export async function lockedPictureOf(tx: EntityManager, userId: number): Promise<{ pictureHash: string | null } | null> {
  const user = await tx.findOne(User, { id: userId }, { fields: ['pictureHash'], lockMode: LockMode.PESSIMISTIC_WRITE });
  return user && { pictureHash: user.pictureHash ?? null };
}

/** Housekeeping: rows nobody points at and nobody has used since `usedBefore` (the grace spares in-flight uploads). */
export async function deleteUnreferenced(tx: EntityManager, usedBefore: Date): Promise<number> {
  const result = await tx.execute<{ affectedRows: number }>(
    'delete from picture where created_at < ? and not exists (select 1 from "user" u where u.picture_hash = picture.hash)',
    [toDatabaseDate(tx, usedBefore)],
    'run',
  );
  return result.affectedRows;
}
