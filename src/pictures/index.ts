// Profile pictures: the public API. No HTTP here: callers pass the uploaded bytes and get outcomes back.
import { createHash } from 'node:crypto';
import type { Orm } from '../db/orm.ts';
import { Picture, User } from '../db/entities.ts';
import { createActivity } from '../accounts/activity.ts';
import type { Client } from '../accounts/clients.ts';
import { convertToPicture } from './images.ts';
import { ImageQueue } from './queue.ts';
import { deleteUnreferenced, forgetIfUnreferenced, keepPicture, lockedPictureOf } from './store.ts';

export { MAX_INPUT_PIXELS, PICTURE_SIZE } from './images.ts';

// Longer than any upload takes between storing its bytes and pointing at them; the sweep leaves
// rows younger than this alone.
export const UNREFERENCED_GRACE_MS = 3600_000;

export type PictureChange =
  | { ok: true; pictureHash: string }
  | { ok: false; reason: 'unsupported_type' | 'too_many_pixels' | 'unreadable' | 'no_account' }
  | { ok: false; reason: 'busy'; retryAfterSeconds: number };

export type Pictures = ReturnType<typeof createPictures>;

const HASH = /^[0-9a-f]{64}$/;

export function createPictures({ orm, now = () => new Date() }: { orm: Orm; now?: () => Date }) {
  const em = () => orm.em.fork();
  const activity = createActivity({ orm, now });
  const queue = new ImageQueue();

  /** Whether an upload would be refused as busy right now (so its body need not be read). */
  function busy(): boolean {
    return queue.full;
  }

  /**
   * Makes `upload` the user's picture. The bytes are decoded and re-encoded (src/pictures/images.ts);
   * the old picture, the new pointer and the security event change in one transaction.
   */
  async function setPicture(userId: number, upload: Buffer, client: Client | null): Promise<PictureChange> {
    const slot = await queue.run(() => convertToPicture(upload));
    if (!slot.ok) return slot;
    const conversion = slot.value;
    if (!conversion.ok) return conversion;
    const pictureHash = createHash('sha256').update(conversion.webp).digest('hex');
    return em().transactional(async (tx): Promise<PictureChange> => {
      const user = await lockedPictureOf(tx, userId);
      if (!user) return { ok: false, reason: 'no_account' };
      await keepPicture(tx, pictureHash, conversion.webp, now());
      if (user.pictureHash === pictureHash) return { ok: true, pictureHash };
      await tx.nativeUpdate(User, { id: userId }, { pictureHash });
      if (user.pictureHash) await forgetIfUnreferenced(tx, user.pictureHash);
      await activity.record(userId, 'picture_changed', client, tx);
      return { ok: true, pictureHash };
    });
  }

  /** Back to initials. Removing a picture that is not there changes nothing and records nothing. */
  async function removePicture(userId: number, client: Client | null): Promise<void> {
    await em().transactional(async (tx) => {
      const user = await lockedPictureOf(tx, userId);
      if (!user?.pictureHash) return;
      await tx.nativeUpdate(User, { id: userId }, { pictureHash: null });
      await forgetIfUnreferenced(tx, user.pictureHash);
      await activity.record(userId, 'picture_removed', client, tx);
    });
  }

  /** The WebP bytes named by `hash`, or null (also for anything that is not a hash). */
  async function findPicture(hash: string): Promise<Buffer | null> {
    if (!HASH.test(hash)) return null;
    const row = await em().findOne(Picture, { hash }, { fields: ['bytes'] });
    return row ? Buffer.from(row.bytes) : null;
  }

  /** Housekeeping: pictures nobody points at any more (left by a crash or a race; removal deletes its own). */
  function sweepUnreferenced(): Promise<number> {
    return deleteUnreferenced(em(), new Date(now().getTime() - UNREFERENCED_GRACE_MS));
  }

  return { busy, setPicture, removePicture, findPicture, sweepUnreferenced };
}
