// The shape of the blog's forms and JSON bodies. Lengths and emptiness are the domain's rules
// (postProblems); here a field only has to be one string. Unknown keys such as `author_id` are
// dropped by zod, so no body can choose a post's author.
import { z } from 'zod';
import { BODY_MAX, TITLE_MAX } from '../../posts/index.ts';
import { multiline, single } from '../forms.ts';

// Far above the domain's limits, so its clearer messages win; these only bound the work of parsing.
const title = single(TITLE_MAX * 10, 'a title');
const body = multiline(BODY_MAX * 2, 'the post');

export const PostForm = z.object({ title, body });
export const PostPatch = z
  .object({ title: title.optional(), body: body.optional() })
  .refine((patch) => patch.title !== undefined || patch.body !== undefined, { message: 'Send a title, a body or both.' });
export const PreviewForm = z.object({
  body,
  // Which form to show again with the preview when JavaScript is off: a new post or this one's edit.
  post_id: z.string().regex(/^\d{1,9}$/).transform(Number).optional().catch(undefined),
});

/** A post id from the address, or null for anything that cannot be one (which is a 404, not a 500). */
export function postId(value: unknown): number | null {
  return typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value) && Number(value) <= 2_147_483_647 ? Number(value) : null;
}
