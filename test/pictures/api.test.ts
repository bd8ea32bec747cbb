// Profile pictures over the JSON API (issue 26): what comes out of an upload, what is refused and
// what it leaves alone, and how the picture is served. On both databases.
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Picture, User as UserRow } from '../../src/db/entities.ts';
import { UNREFERENCED_GRACE_MS } from '../../src/pictures/index.ts';
import { dialects, registeredUser, startHarness, type Harness } from '../support/harness.ts';
import {
  HTML_PAGE, SVG_WITH_SCRIPT, collectBytes, jpegWithGpsAndScript, pixelAt, plain, pngBomb, sidewaysJpeg,
} from '../support/images.ts';

type User = Awaited<ReturnType<typeof registeredUser>>;
const MEDIA_URL = /^\/media\/([0-9a-f]{64})\.webp$/;

describe.each(dialects())('profile pictures on %s', (dialect) => {
  let h: Harness;
  let names = 0;
  const newUser = () => registeredUser(h, `pic${dialect.slice(0, 2)}${++names}`);
  const upload = (user: User, file: Buffer, filename = 'me.jpg', contentType = 'image/jpeg') =>
    user.agent.put('/api/users/me/picture').attach('picture', file, { filename, contentType });
  const pictureOf = async (user: User) => (await user.agent.get('/api/users/me').expect(200)).body.user.picture_url as string | null;

  beforeAll(async () => {
    h = await startHarness(dialect);
  });
  afterAll(() => h.close());

  describe('PUT /api/users/me/picture', () => {
    it('turns a JPEG with GPS EXIF and an appended <script> into a 300×300 WebP with neither', async () => {
      const user = await newUser();
      const original = await jpegWithGpsAndScript();
      expect((await sharp(original).metadata()).exif).toBeDefined();
      const res = await upload(user, original);
      expect(res.status, res.text).toBe(200);
      expect(res.body.user).toMatchObject({ id: user.id, picture_url: expect.stringMatching(MEDIA_URL) });
      expect(await pictureOf(user)).toBe(res.body.user.picture_url);

      const served = await h.request().get(res.body.user.picture_url).buffer(true).parse(collectBytes as never).expect(200);
      const bytes = served.body as Buffer;
      const meta = await sharp(bytes).metadata();
      expect(meta).toMatchObject({ format: 'webp', width: 300, height: 300 });
      expect(meta.exif).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      for (const leak of ['<script', 'GPS', 'InkwellCam', 'Exif']) expect(bytes.includes(leak), leak).toBe(false);
    });

    it('turns a sideways phone photo (EXIF orientation 6) upright', async () => {
      const user = await newUser();
      const res = await upload(user, await sidewaysJpeg());
      expect(res.status, res.text).toBe(200);
      const bytes = (await h.request().get(res.body.user.picture_url).buffer(true).parse(collectBytes as never).expect(200)).body as Buffer;
      // Upright, red is on top and blue below; left as stored, red would be on the left and blue on the right.
      const [topRight, bottomLeft] = [await pixelAt(bytes, 260, 40), await pixelAt(bytes, 40, 260)];
      expect(topRight[0]).toBeGreaterThan(150);
      expect(topRight[2]).toBeLessThan(100);
      expect(bottomLeft[2]).toBeGreaterThan(150);
      expect(bottomLeft[0]).toBeLessThan(100);
    });

    it('refuses SVG, TIFF, HTML named .png, a truncated JPEG and a PNG bomb quickly, and keeps the picture there was', async () => {
      const user = await newUser();
      const before = (await upload(user, await plain(400, 400).png().toBuffer(), 'before.png', 'image/png').expect(200)).body.user.picture_url;
      const jpeg = await plain(1000, 800).jpeg().toBuffer();
      const bomb = pngBomb();
      expect(bomb.length).toBeLessThan(1000);
      const refusals: [string, Buffer, string, string, number, string][] = [
        ['SVG with a script', SVG_WITH_SCRIPT, 'me.svg', 'image/svg+xml', 415, 'unsupported_type'],
        ['SVG named .png', SVG_WITH_SCRIPT, 'me.png', 'image/png', 415, 'unsupported_type'],
        ['TIFF', await plain(50, 50).tiff().toBuffer(), 'me.tiff', 'image/tiff', 415, 'unsupported_type'],
        ['HTML named .png', HTML_PAGE, 'me.png', 'image/png', 415, 'unsupported_type'],
        ['a truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'me.jpg', 'image/jpeg', 422, 'unreadable_image'],
        ['a PNG declaring 20000×20000', bomb, 'me.png', 'image/png', 422, 'too_many_pixels'],
      ];
      for (const [what, file, filename, type, status, code] of refusals) {
        const started = performance.now();
        const res = await upload(user, file, filename, type);
        expect(res.status, what).toBe(status);
        expect(res.body.error.code, what).toBe(code);
        // Refused from the header or the first bytes, not after decoding (a 400 MP decode takes many seconds).
        expect(performance.now() - started, what).toBeLessThan(3_000);
      }
      expect(await pictureOf(user)).toBe(before);
      await h.request().get(before).expect(200);
    });

    it('refuses a body without a file (422) and a file in another field (400), changing nothing', async () => {
      const user = await newUser();
      const none = await user.agent.put('/api/users/me/picture').field('name', 'value');
      expect(none.status).toBe(422);
      expect(none.body.error.fields).toEqual({ picture: 'Choose a picture to upload.' });
      const elsewhere = await user.agent.put('/api/users/me/picture').attach('avatar', await plain(10, 10).png().toBuffer(), 'a.png');
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error.code).toBe('bad_upload');
      const two = await user.agent
        .put('/api/users/me/picture')
        .attach('picture', await plain(10, 10).png().toBuffer(), 'a.png')
        .attach('picture', await plain(10, 10).png().toBuffer(), 'b.png');
      expect(two.status).toBe(400);
      expect(await pictureOf(user)).toBeNull();
    });

    it('answers 401 without a session and 403 to a cross-site browser request; another user changes only their own', async () => {
      const alice = await newUser();
      const bob = await newUser();
      const png = await plain(64, 64).png().toBuffer();
      await h.request().put('/api/users/me/picture').attach('picture', png, 'x.png').expect(401);
      const mine = (await upload(alice, png, 'x.png', 'image/png').expect(200)).body.user.picture_url;
      await alice.agent.put('/api/users/me/picture').set('Sec-Fetch-Site', 'cross-site').attach('picture', png, 'x.png').expect(403);
      // Bob has no way to name alice's account: his upload and removal are his.
      await upload(bob, await plain(64, 64, { r: 0, g: 200, b: 0 }).png().toBuffer(), 'y.png', 'image/png').expect(200);
      await bob.agent.delete('/api/users/me/picture').expect(204);
      expect(await pictureOf(alice)).toBe(mine);
      await h.request().get(mine).expect(200);
    });

    it('takes concurrent uploads: each user ends with one of their own pictures, and replaced ones are gone', async () => {
      const users = [await newUser(), await newUser(), await newUser()];
      // Two different photos per user, six uploads at once (one decoding, five waiting).
      const colour = (u: number, i: number) => ({ r: 40 * u, g: 100 * i, b: 50 });
      const answers = await Promise.all(
        users.flatMap((user, u) => [0, 1].map(async (i) => ({ user: u, res: await upload(user, await plain(500, 400, colour(u, i)).jpeg().toBuffer()) }))),
      );
      for (const { res } of answers) expect([200, 503], res.text).toContain(res.status);
      for (const [u, user] of users.entries()) {
        const current = await pictureOf(user);
        const mine = answers.filter((a) => a.user === u && a.res.status === 200).map((a) => a.res.body.user.picture_url);
        expect(mine.length).toBeGreaterThan(0);
        expect(mine).toContain(current);
        await h.request().get(current!).expect(200);
      }
      // Only pictures someone points at are left.
      const pointers = await h.orm.em.fork().find(UserRow, { pictureHash: { $ne: null } }, { fields: ['pictureHash'] });
      const stored = await h.orm.em.fork().find(Picture, {}, { fields: ['hash'] });
      expect(stored.map((p) => p.hash).sort()).toEqual([...new Set(pointers.map((u) => u.pictureHash))].sort());
    });

    it('lets two users swap the same two pictures at once without a failure (no deadlock between their rows)', async () => {
      const [a, b] = [await newUser(), await newUser()];
      const [one, two] = [await plain(320, 320, { r: 1, g: 1, b: 99 }).png().toBuffer(), await plain(320, 320, { r: 99, g: 1, b: 1 }).png().toBuffer()];
      await upload(a, one, 'a.png', 'image/png').expect(200);
      await upload(b, two, 'b.png', 'image/png').expect(200);
      for (let round = 0; round < 3; round++) {
        const [x, y] = round % 2 ? [one, two] : [two, one];
        const answers = await Promise.all([upload(a, x, 'a.png', 'image/png'), upload(b, y, 'b.png', 'image/png')]);
        expect(answers.map((res) => res.status)).toEqual([200, 200]);
      }
      for (const user of [a, b]) await h.request().get((await pictureOf(user))!).expect(200);
    });

    it('records a security event for each change', async () => {
      const user = await newUser();
      await upload(user, await plain(80, 80).png().toBuffer(), 'a.png', 'image/png').expect(200);
      await user.agent.delete('/api/users/me/picture').expect(204);
      const events = (await user.agent.get('/api/users/me/events').expect(200)).body.events.map((e: { kind: string }) => e.kind);
      expect(events.slice(0, 2)).toEqual(['picture_removed', 'picture_changed']);
    });
  });

  describe('DELETE /api/users/me/picture', () => {
    it('answers 204, shows initials again (picture_url null), and the picture is no longer served', async () => {
      const user = await newUser();
      const url = (await upload(user, await plain(120, 90, { r: 1, g: 2, b: 3 }).png().toBuffer(), 'a.png', 'image/png').expect(200)).body.user.picture_url;
      await user.agent.delete('/api/users/me/picture').expect(204);
      expect(await pictureOf(user)).toBeNull();
      await h.request().get(url).expect(404);
      await user.agent.delete('/api/users/me/picture').expect(204);
    });
  });

  describe('posts', () => {
    it("show their author's picture_url in the posts API, null once it is removed", async () => {
      const user = await newUser();
      const url = (await upload(user, await plain(64, 64, { r: 7, g: 70, b: 140 }).png().toBuffer(), 'a.png', 'image/png').expect(200)).body.user.picture_url;
      const id = (await user.agent.post('/api/posts').send({ title: 'With a face', body: 'Hello.' }).expect(201)).body.post.id;
      expect((await h.request().get(`/api/posts/${id}`).expect(200)).body.post.author.picture_url).toBe(url);
      const listed = (await h.request().get('/api/posts').expect(200)).body.posts.find((p: { id: number }) => p.id === id);
      expect(listed.author.picture_url).toBe(url);
      await user.agent.delete('/api/users/me/picture').expect(204);
      expect((await h.request().get(`/api/posts/${id}`).expect(200)).body.post.author.picture_url).toBeNull();
    });
  });

  describe('GET /media/:file', () => {
    it('serves the WebP immutable, with a strong ETag, nosniff and a sandboxing CSP; 304 when unchanged; 404 otherwise', async () => {
      const user = await newUser();
      const url = (await upload(user, await plain(300, 300, { r: 5, g: 100, b: 5 }).png().toBuffer(), 'a.png', 'image/png').expect(200)).body.user.picture_url;
      const hash = MEDIA_URL.exec(url)![1];
      // As any reader: a signed-in one gets the very same cacheable answer.
      for (const agent of [h.request(), user.agent]) {
        const res = await agent.get(url).expect(200);
        expect(res.headers['content-type']).toBe('image/webp');
        expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
        expect(res.headers.etag).toBe(`"${hash}"`);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.headers['content-security-policy']).toBe("default-src 'none'; sandbox");
        expect(res.headers['set-cookie']).toBeUndefined();
      }
      await h.request().get(url).set('If-None-Match', `"${hash}"`).expect(304);
      await h.request().get(`/media/${'0'.repeat(64)}.webp`).expect(404);
      await h.request().get('/media/..%2F..%2Fpackage.json').expect(404);
      await h.request().get(`/media/${hash}.svg`).expect(404);
    });
  });

  describe('a deleted account', () => {
    it('takes its picture with it', async () => {
      const user = await newUser();
      const url = (await upload(user, await plain(200, 200, { r: 200, g: 200, b: 0 }).png().toBuffer(), 'a.png', 'image/png').expect(200)).body.user.picture_url;
      const hash = MEDIA_URL.exec(url)![1];
      await user.agent.delete('/api/users/me').send({ current_password: user.password }).expect(204);
      await h.request().get(url).expect(404);
      expect(await h.orm.em.fork().count(Picture, { hash })).toBe(0);
    });
  });

  describe('housekeeping', () => {
    it('sweeps pictures nobody points at once the grace period has passed, and keeps the rest', async () => {
      const user = await newUser();
      const url = (await upload(user, await plain(100, 100, { r: 9, g: 9, b: 200 }).png().toBuffer(), 'a.png', 'image/png').expect(200)).body.user.picture_url;
      const old = new Date(Date.now() - UNREFERENCED_GRACE_MS - 60_000);
      const orphan = { hash: 'f'.repeat(64), bytes: Buffer.from('left by a crash'), createdAt: old };
      const fresh = { hash: 'e'.repeat(64), bytes: Buffer.from('an upload in flight'), createdAt: new Date() };
      await h.orm.em.fork().insertMany(Picture, [orphan, fresh]);
      await h.orm.em.fork().nativeUpdate(Picture, { hash: MEDIA_URL.exec(url)![1] }, { createdAt: old });
      await h.housekeeping();
      expect(await h.orm.em.fork().count(Picture, { hash: orphan.hash })).toBe(0);
      expect(await h.orm.em.fork().count(Picture, { hash: fresh.hash })).toBe(1);
      await h.request().get(url).expect(200);
      await h.orm.em.fork().nativeDelete(Picture, { hash: fresh.hash });
    });
  });
});
