// Profile pictures on the pages: the account page's form without JavaScript (plain multipart POST)
// and with htmx (the section swapped in place), and the picture or initials beside names on the
// author page, the feed and a post's byline, also for anonymous readers served from the page cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import { plain } from '../support/images.ts';

const AVATAR = /<img class="avatar" src="(\/media\/[0-9a-f]{64}\.webp)" alt=""/;

describe.each(dialects())('profile pictures on the pages on %s', (dialect) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  it('the account page uploads a picture without JavaScript (303 back to the page, which shows it) and removes it', async () => {
    const alice = await registeredUser(h, 'alice');
    const page = await alice.agent.get('/account').expect(200);
    expect(page.text).toContain('enctype="multipart/form-data"');
    expect(page.text).toMatch(/<span class="avatar initials"[^>]*>A<\/span>/);

    const posted = await alice.agent.post('/account/picture').attach('picture', await plain(640, 480).jpeg().toBuffer(), 'me.jpg');
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe('/account?notice=picture_changed');
    const after = await alice.agent.get(posted.headers.location).expect(200);
    expect(after.text).toContain('Your new picture is up.');
    const src = AVATAR.exec(after.text)?.[1];
    expect(src).toBe((await alice.agent.get('/api/users/me')).body.user.picture_url);

    const refused = await alice.agent.post('/account/picture').attach('picture', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'x.png');
    expect(refused.status).toBe(415);
    expect(refused.text).toContain('Choose a JPEG, PNG, WebP or GIF image.');
    expect(refused.text).toContain(src);

    const removed = await alice.agent.post('/account/picture/delete').expect(303);
    expect(removed.headers.location).toBe('/account?notice=picture_removed');
    expect((await alice.agent.get('/account')).text).not.toMatch(AVATAR);
  });

  it('sends a visitor who is not logged in to log in, and back to the account page after', async () => {
    const res = await h.request().post('/account/picture').attach('picture', await plain(10, 10).png().toBuffer(), 'a.png');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Faccount');
  });

  it('with htmx, answers the picture section alone, showing the new picture', async () => {
    const bob = await registeredUser(h, 'bob');
    const res = await bob.agent
      .post('/account/picture')
      .set('HX-Request', 'true')
      .attach('picture', await plain(300, 300, { r: 0, g: 120, b: 0 }).png().toBuffer(), 'me.png');
    expect(res.status).toBe(200);
    expect(res.text.trimStart()).toMatch(/^<section id="picture"/);
    expect(res.text).not.toContain('<html');
    expect(AVATAR.exec(res.text)?.[1]).toBe((await bob.agent.get('/api/users/me')).body.user.picture_url);
    const refused = await bob.agent.post('/account/picture').set('HX-Request', 'true').attach('picture', Buffer.from('GIF89a broken'), 'x.gif');
    expect(refused.status).toBe(422);
    expect(refused.text).toMatch(/^\s*<section id="picture"/);
    expect(refused.text).toContain('This image could not be read');
  });

  it('shows the picture beside the author on the author page, the feed, the byline and search results, and initials when there is none', async () => {
    const carol = await registeredUser(h, 'carol');
    const dave = await registeredUser(h, 'dave');
    const post = (await carol.agent.post('/api/posts').send({ title: 'With a face', body: 'Hello.' }).expect(201)).body.post;
    await dave.agent.post('/api/posts').send({ title: 'Without one', body: 'Hi.' }).expect(201);
    // An anonymous reader first, so the pages are cached before the picture changes.
    const postPage = new URL(post.url).pathname; // /posts/<id>-<slug>: /posts/<id> alone is a 301 to it
    for (const path of ['/', postPage, '/users/carol']) await h.request().get(path).expect(200);

    const url = (await carol.agent.put('/api/users/me/picture').attach('picture', await plain(500, 500, { r: 200, g: 100, b: 0 }).png().toBuffer(), 'c.png').expect(200)).body.user.picture_url;
    for (const path of ['/', postPage, '/users/carol', '/search?q=face']) {
      const res = await h.request().get(path).expect(200);
      expect(res.text, path).toContain(`<img class="avatar" src="${url}" alt=""`);
    }
    expect((await h.request().get('/users/dave').expect(200)).text).toMatch(/<span class="avatar initials"[^>]*>D<\/span>/);
  });
});
