// Changing the profile picture: the account page's form (with or without htmx) and the JSON API.
// Each handler takes the file read by upload.ts, makes one domain call and maps the outcome.
import type { Request, RequestHandler, Response } from 'express';
import type { Accounts } from '../../accounts/index.ts';
import type { PictureChange, Pictures } from '../../pictures/index.ts';
import { publicProfile } from '../accounts/api.ts';
import { ACCOUNT_VIEW, showAccount } from '../accounts/view.ts';
import { clientOfRequest, currentUser } from '../middleware.ts';
import type { PageCache } from '../page-cache.ts';
import { jsonError, redirect } from '../respond.ts';
import { setRetryAfter } from '../limits.ts';
import { receivePicture, type Refusal } from './upload.ts';

const pictureView = { ...ACCOUNT_VIEW, fragment: 'picture-form' };

/** What each refusal of the domain tells the person, with its status. */
function refusalOf(outcome: Exclude<PictureChange, { ok: true }>): Refusal {
  switch (outcome.reason) {
    case 'unsupported_type':
      return { status: 415, code: 'unsupported_type', message: 'Choose a JPEG, PNG, WebP or GIF image.' };
    case 'too_many_pixels':
      return { status: 422, code: 'too_many_pixels', message: 'This image has too many pixels: choose one of at most 50 megapixels.' };
    case 'unreadable':
      return { status: 422, code: 'unreadable_image', message: 'This image could not be read: it may be damaged or cut short.' };
    case 'busy':
      return { status: 503, code: 'busy', message: 'We are processing too many pictures right now. Try again in a few seconds.', retryAfterSeconds: outcome.retryAfterSeconds };
    case 'no_account':
      return { status: 401, code: 'not_authenticated', message: 'Log in first.' };
  }
}
const NO_FILE: Refusal = { status: 422, code: 'invalid_input', message: 'Choose a picture to upload.' };

export function pictureChanges({ accounts, pictures, pageCache }: {
  accounts: Accounts;
  pictures: Pictures;
  /** Emptied on every change: author pages and bylines show the picture. */
  pageCache: PageCache;
}) {
  const refuseJson = (_req: Request, res: Response, { status, code, message, retryAfterSeconds }: Refusal) => {
    if (retryAfterSeconds) setRetryAfter(res, retryAfterSeconds);
    if (code === 'invalid_input') return jsonError(res, status, code, 'Some fields need attention.', { picture: message });
    jsonError(res, status, code, message);
  };
  const refusePage = (req: Request, res: Response, { status, message, retryAfterSeconds }: Refusal) => {
    if (retryAfterSeconds) setRetryAfter(res, retryAfterSeconds);
    return showAccount(req, res, accounts, { ...pictureView, status }, { pictureError: message });
  };

  const change = (req: Request, res: Response) => {
    if (!req.file) return null;
    return pictures.setPicture(currentUser(res)!.id, req.file.buffer, clientOfRequest(req));
  };

  const upload: RequestHandler = async (req, res) => {
    const outcome = await change(req, res);
    if (!outcome) return refusePage(req, res, NO_FILE);
    if (!outcome.ok) return refusePage(req, res, refusalOf(outcome));
    pageCache.clear();
    const user = { ...currentUser(res)!, pictureHash: outcome.pictureHash };
    // htmx swaps the new picture in place; a plain form comes back to the page, which shows it.
    if (req.get('HX-Request') === 'true') return showAccount(req, res, accounts, pictureView, { user, pictureChanged: true });
    redirect(req, res, '/account?notice=picture_changed');
  };

  const remove: RequestHandler = async (req, res) => {
    await pictures.removePicture(currentUser(res)!.id, clientOfRequest(req));
    pageCache.clear();
    const user = { ...currentUser(res)!, pictureHash: null };
    if (req.get('HX-Request') === 'true') return showAccount(req, res, accounts, pictureView, { user });
    redirect(req, res, '/account?notice=picture_removed');
  };

  const uploadJson: RequestHandler = async (req, res) => {
    const outcome = await change(req, res);
    if (!outcome) return refuseJson(req, res, NO_FILE);
    if (!outcome.ok) return refuseJson(req, res, refusalOf(outcome));
    pageCache.clear();
    res.json({ user: publicProfile({ ...currentUser(res)!, pictureHash: outcome.pictureHash }) });
  };

  const removeJson: RequestHandler = async (req, res) => {
    await pictures.removePicture(currentUser(res)!.id, clientOfRequest(req));
    pageCache.clear();
    res.status(204).end();
  };

  const busy = () => pictures.busy();
  return {
    upload, remove, uploadJson, removeJson,
    receiveForPage: receivePicture({ busy, refuse: refusePage }),
    receiveForApi: receivePicture({ busy, refuse: refuseJson }),
  };
}
