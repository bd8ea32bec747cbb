// The blog's JSON API: the same domain calls as the pages, answered in JSON.
import type { RequestHandler, Response } from 'express';
import type { FullPost, PostSummary, Posts } from '../../posts/index.ts';
import { parse } from '../forms.ts';
import { currentUser } from '../middleware.ts';
import { PostCreate, PostPatch, postId } from './forms.ts';
import { postPath, type Absolute } from './links.ts';
import { invalidInput, jsonError } from '../respond.ts';

const notFound = (res: Response) => jsonError(res, 404, 'not_found', 'There is no post with this id.');
const notAuthor = (res: Response) => jsonError(res, 403, 'not_author', 'Only the author of this post can change it.');

export function postsApi({ posts, absolute }: { posts: Posts; absolute: Absolute }) {
  const summaryJson = (post: PostSummary) => ({
    id: post.id, title: post.title, slug: post.slug, url: absolute(postPath(post)), status: post.status,
    published_at: post.publishedAt?.toISOString() ?? null, excerpt: post.excerpt, author: { username: post.author.username },
    created_at: post.createdAt.toISOString(), updated_at: post.updatedAt.toISOString(),
  });
  const postJson = (post: FullPost) => ({ ...summaryJson(post), body: post.body, html: post.html });

  const list: RequestHandler = async (req, res) => {
    if (req.query.q !== undefined) return search(req, res, () => {});
    let before: number | undefined;
    if (req.query.before !== undefined && req.query.before !== '') {
      const id = postId(req.query.before);
      if (id === null) return invalidInput(res, { before: 'Send the id of the last post you have (a positive whole number).' });
      before = id;
    }
    const page = await posts.listPosts(before);
    res.json({ posts: page.posts.map(summaryJson), next_before: page.nextBefore });
  };

  /** `?q=`: the best matches, each with `snippet` (HTML: escaped text, matches in <mark>); one page only. */
  const search: RequestHandler = async (req, res) => {
    if (typeof req.query.q !== 'string') return invalidInput(res, { q: 'Send one search text.' });
    const outcome = await posts.searchPosts(req.query.q);
    if (!outcome.ok) return invalidInput(res, outcome.fields);
    res.json({ posts: outcome.results.map((post) => ({ ...summaryJson(post), snippet: post.snippetHtml })), next_before: null });
  };

  const one: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    const post = id === null ? null : await posts.findPost(id, currentUser(res)?.id);
    if (!post) return notFound(res);
    res.json({ post: postJson(post) });
  };

  const publish: RequestHandler = async (req, res) => {
    const input = parse(PostCreate, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await posts.publishPost(currentUser(res)!.id, input.data);
    if (!outcome.ok) return invalidInput(res, outcome.fields);
    res.status(201).location(`/api/posts/${outcome.post.id}`).json({ post: postJson(outcome.post) });
  };

  const edit: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    if (id === null) return notFound(res);
    const input = parse(PostPatch, req.body);
    if (!input.ok) return invalidInput(res, input.fields);
    const outcome = await posts.editPost(currentUser(res)!.id, id, input.data);
    if (outcome.ok) return res.json({ post: postJson(outcome.post) });
    switch (outcome.reason) {
      case 'invalid':
        return invalidInput(res, outcome.fields);
      case 'not_author':
        return notAuthor(res);
      case 'not_found':
        return notFound(res);
    }
  };

  const remove: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    if (id === null) return notFound(res);
    const outcome = await posts.deletePost(currentUser(res)!.id, id);
    if (outcome.ok) return res.status(204).end();
    return outcome.reason === 'not_author' ? notAuthor(res) : notFound(res);
  };

  return { list, one, publish, edit, remove };
}
