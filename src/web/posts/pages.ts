// The blog's pages: reading (feed, post, author) for everyone, writing for the post's author.
// Each handler parses, makes one domain call, and picks a template or a status.
import type { Request, RequestHandler, Response } from 'express';
import type { Posts, WrittenPost } from '../../posts/index.ts';
import { parse } from '../forms.ts';
import { currentUser } from '../middleware.ts';
import { renderShared, type PageCache } from '../page-cache.ts';
import { PostForm, PreviewForm, postId, postRef } from './forms.ts';
import { authorPath, postPath } from './links.ts';
import { redirect, show, showError } from '../respond.ts';

const notFound = (req: Request, res: Response) => showError(req, res, 404, 'not_found', 'There is no post here.');
const notAuthor = (req: Request, res: Response) =>
  showError(req, res, 403, 'not_author', 'Only the author of this post can change it.');

export function postPages({ posts, cache }: { posts: Posts; cache: PageCache }) {
  /**
   * The same page for every reader without a session: rendered once, then served from the cache
   * until its age runs out or the next scheduled post becomes public, whichever is first.
   */
  const showShared = async (req: Request, res: Response, template: string, context: object) => {
    const anonymous = !currentUser(res);
    renderShared(req, res, cache, template, context, anonymous, { until: anonymous ? await posts.nextPublication() : null });
  };

  const feed: RequestHandler = async (req, res) => {
    // A `before` that is not a post id shows the first page: an old or hand-edited link still leads somewhere.
    const before = postId(req.query.before) ?? undefined;
    const page = await posts.listPosts(before);
    const older = page.nextBefore && `/?before=${page.nextBefore}`;
    await showShared(req, res, 'pages/home.njk', { title: 'Inkwell', page, older, paged: before !== undefined });
  };

  const showPost: RequestHandler = async (req, res) => {
    const ref = postRef(req.params.ref);
    const viewer = currentUser(res)?.id;
    const post = ref && (await posts.findPost(ref.id, viewer));
    if (!ref || !post) return notFound(req, res);
    // The id decides; every other slug (an old one, a typo, none) is sent to the current address.
    if (ref.slug !== post.slug) return res.redirect(301, postPath(post));
    await showShared(req, res, 'pages/post.njk', { title: post.title, post, mine: viewer === post.author.id });
  };

  const authorPage: RequestHandler = async (req, res) => {
    const outcome = await posts.listPostsBy(String(req.params.username).toLowerCase(), postId(req.query.before) ?? undefined);
    if (!outcome.ok) return showError(req, res, 404, 'not_found', 'There is no author with that name.');
    const { author, ...page } = outcome;
    const older = page.nextBefore && `${authorPath(author.username)}?before=${page.nextBefore}`;
    // The author's own page lists what only they can see (never cached: they are signed in).
    const unpublished = currentUser(res)?.id === author.id ? await posts.listUnpublished(author.id) : [];
    await showShared(req, res, 'pages/author.njk', { title: `Posts by ${author.username}`, author, page, older, unpublished });
  };

  // One editor for both: the form posts to `action`, which the template needs as well as the view.
  type EditorView = { page: string; fragment: string; title: string; action: string };
  const newView: EditorView = { page: 'post-editor', fragment: 'post-form', title: 'Write a post', action: '/posts' };
  const editView = (id: number): EditorView => ({ ...newView, title: 'Edit your post', action: `/posts/${id}/edit` });
  const withAction = (view: EditorView) => ({ action: view.action });

  const showNew: RequestHandler = (req, res) => show(req, res, newView, withAction(newView));

  const publish: RequestHandler = async (req, res) => {
    const input = parse(PostForm, req.body);
    if (!input.ok) return show(req, res, { ...newView, status: 422 }, { ...withAction(newView), errors: input.fields, values: req.body });
    const outcome = await posts.publishPost(currentUser(res)!.id, input.data);
    if (!outcome.ok) return show(req, res, { ...newView, status: 422 }, { ...withAction(newView), errors: outcome.fields, values: req.body });
    // POST/redirect/GET: reloading the post's page shows it again; it never posts it again.
    redirect(req, res, postPath(outcome.post));
  };

  const showEdit: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    if (id === null) return notFound(req, res);
    const outcome = await posts.findPostToEdit(currentUser(res)!.id, id);
    if (!outcome.ok) return outcome.reason === 'not_author' ? notAuthor(req, res) : notFound(req, res);
    const view = editView(outcome.post.id);
    show(req, res, view, { ...withAction(view), values: editorValues(outcome.post), post: outcome.post });
  };

  const edit: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    if (id === null) return notFound(req, res);
    const view = editView(id);
    const input = parse(PostForm, req.body);
    const values = { ...req.body, post_id: id };
    if (!input.ok) return show(req, res, { ...view, status: 422 }, { ...withAction(view), errors: input.fields, values });
    const outcome = await posts.editPost(currentUser(res)!.id, id, input.data);
    if (outcome.ok) return redirect(req, res, postPath(outcome.post));
    switch (outcome.reason) {
      case 'invalid':
        return show(req, res, { ...view, status: 422 }, { ...withAction(view), errors: outcome.fields, values });
      case 'not_author':
        return notAuthor(req, res);
      case 'not_found':
        return notFound(req, res);
    }
  };

  const remove: RequestHandler = async (req, res) => {
    const id = postId(req.params.id);
    if (id === null) return notFound(req, res);
    const outcome = await posts.deletePost(currentUser(res)!.id, id);
    if (outcome.ok) return redirect(req, res, '/');
    return outcome.reason === 'not_author' ? notAuthor(req, res) : notFound(req, res);
  };

  /** With htmx only the rendered fragment; without, the whole editor again with the preview under it. */
  const preview: RequestHandler = (req, res) => {
    const input = parse(PreviewForm, req.body);
    const editing = input.ok ? input.data.post_id : undefined;
    const view = editing ? editView(editing) : newView;
    const context = { ...withAction(view), values: { ...req.body, post_id: editing } };
    if (!input.ok) return show(req, res, { ...view, fragment: 'post-preview', status: 422 }, { ...context, previewErrors: input.fields });
    const outcome = posts.previewBody(input.data.body);
    if (!outcome.ok) return show(req, res, { ...view, fragment: 'post-preview', status: 422 }, { ...context, previewErrors: outcome.fields });
    show(req, res, { ...view, fragment: 'post-preview' }, { ...context, preview: outcome.html });
  };

  return { feed, showPost, authorPage, showNew, publish, showEdit, edit, remove, preview };
}

/** The editor's fields for a stored post; the schedule in the form's UTC `datetime-local` shape. */
function editorValues(post: WrittenPost) {
  return {
    title: post.title, body: post.body, slug: post.slug, post_id: post.id, state: post.state,
    publish_at: post.state === 'scheduled' ? post.publishedAt!.toISOString().slice(0, 16) : '',
  };
}
