// The shape of the blog's forms and JSON bodies. Lengths and emptiness are the domain's rules
// (postProblems); here a field only has to be one string. Unknown keys such as `author_id` are
// dropped by zod, so no body can choose a post's author.
import { z } from 'zod';
import { BODY_MAX, TITLE_MAX } from '../../posts/index.ts';
import { SLUG_MAX } from '../../posts/slugs.ts';
import { multiline, single } from '../forms.ts';

// Far above the domain's limits, so its clearer messages win; these only bound the work of parsing.
const title = single(TITLE_MAX * 10, 'a title');
const body = multiline(BODY_MAX * 2, 'the post');
const slug = single(SLUG_MAX * 4, 'an address').trim().toLowerCase();
// An instant with its offset (the API), e.g. 2027-01-01T09:00:00Z; the domain refuses an invalid one.
const instant = single(40, 'a date and time').transform((value) => new Date(value));
// The editor's <input type="datetime-local"> sends no offset: the form says it is UTC.
const utcLocal = single(40, 'a date and time').transform((value) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? new Date(`${value}Z`) : new Date(NaN),
);

/** The editor: which button was pressed says what happens (`intent`); a schedule needs `publish_at`. */
export const PostForm = z
  .object({
    title, body, slug: slug.optional(),
    intent: z.enum(['publish', 'draft', 'schedule']).catch('publish'),
    publish_at: z.union([z.literal(''), utcLocal]).optional(),
  })
  .transform(({ intent, publish_at, ...post }) => ({
    ...post,
    status: intent === 'draft' ? ('draft' as const) : ('published' as const),
    publishAt: intent === 'schedule' ? (publish_at || new Date(NaN)) : undefined,
  }));

const apiFields = {
  status: z.enum(['draft', 'published'], { error: 'Send "draft" or "published".' }).optional(),
  published_at: instant.optional(),
  slug: slug.optional(),
};
const fromApi = <T extends { published_at?: Date }>({ published_at, ...rest }: T) => ({ ...rest, publishAt: published_at });
export const PostCreate = z.object({ title, body, ...apiFields }).transform(fromApi);
export const PostPatch = z
  .object({ title: title.optional(), body: body.optional(), ...apiFields })
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'Send at least one field to change.' })
  .transform(fromApi);
export const PreviewForm = z.object({
  body,
  // Which form to show again with the preview when JavaScript is off: a new post or this one's edit.
  post_id: z.string().regex(/^\d{1,9}$/).transform(Number).optional().catch(undefined),
});

/** A post id from the address, or null for anything that cannot be one (which is a 404, not a 500). */
export function postId(value: unknown): number | null {
  return typeof value === 'string' && /^[1-9]\d{0,9}$/.test(value) && Number(value) <= 2_147_483_647 ? Number(value) : null;
}

/** `/posts/:ref`: "12-my-title" or "12" → the id and the slug as written (the id decides). */
export function postRef(value: unknown): { id: number; slug: string } | null {
  const match = typeof value === 'string' ? /^(\d+)(?:-(.*))?$/s.exec(value) : null;
  const id = match && postId(match[1]);
  return id === null || !match ? null : { id, slug: match[2] ?? '' };
}
