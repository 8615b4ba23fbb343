import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { followPathOf, phoneJpeg, post, startRoutes, type RoutesWorld } from './world.js';

let world: RoutesWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const report = { category: 'noise', description: '楼上夜里装修' };

async function filed(w: RoutesWorld): Promise<{ path: string; id: string }> {
  const res = await post(`${w.url}/r/estate-a`, report);
  expect(res.status).toBe(201);
  return { path: followPathOf(await res.text()), id: w.orders.stored.at(-1)!.view.id };
}

const rate = (w: RoutesWorld, path: string, body: Record<string, string>) =>
  fetch(`${w.url}${path}`, { method: 'POST', body: new URLSearchParams(body), redirect: 'manual' });

describe('the follow link (GET/POST /r/f/:token)', () => {
  it('answers an unknown or malformed token with a 404 page', async () => {
    world = await startRoutes();
    for (const path of ['/r/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '/r/f/short', '/r/f/%3Cscript%3E']) {
      const res = await fetch(`${world.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('找不到此报事');
    }
    expect((await rate(world, '/r/f/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { rating: 'satisfied' })).status).toBe(404);
  });

  it('shows progress without staff names or internal notes; rates a resolved order once', async () => {
    world = await startRoutes();
    const { path, id } = await filed(world);
    // Not resolved yet: no rating form, and a rating is refused.
    expect(await (await fetch(`${world.url}${path}`)).text()).not.toContain('name="rating"');
    expect((await rate(world, path, { rating: 'satisfied' })).status).toBe(409);

    await world.orders.change(id, { action: 'note', note: '内部：张师傅 13900001111 明早去' }, { kind: 'user', id: 'u1' });
    await world.orders.change(id, { action: 'resolve', note: '已协调楼上住户，晚十点后停工' }, { kind: 'user', id: 'u1' });
    const page = await (await fetch(`${world.url}${path}`)).text();
    expect(page).toContain('已办结，请评价');
    expect(page).toContain('已协调楼上住户，晚十点后停工');
    expect(page).toContain('处理进展');
    expect(page).not.toContain('张师傅');
    expect(page).not.toContain('13900001111');
    expect(page.match(/name="rating"/g)).toHaveLength(3);

    const res = await rate(world, path, { rating: 'satisfied', note: '谢谢<script>' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${path}?done=rated`);
    expect(world.orders.stored[0]!.actors.at(-1)).toEqual({ kind: 'resident' });
    const after = await (await fetch(`${world.url}${res.headers.get('location')}`)).text();
    expect(after).toContain('感谢您的评价');
    expect(after).toContain('data-rating="satisfied"');
    expect(after).toContain('谢谢&lt;script&gt;');
    expect(after).not.toContain('name="rating"');
    // Once only.
    expect((await rate(world, path, { rating: 'unsatisfied' })).status).toBe(409);
    expect(await world.metric('rb_resident_ratings_total', { rating: 'satisfied' })).toBe(1);
  });

  it('reopens on the first 不满意; the next resolution is rated again, and a second 不满意 no longer reopens', async () => {
    world = await startRoutes();
    const { path, id } = await filed(world);
    await world.orders.change(id, { action: 'resolve' }, { kind: 'user', id: 'u1' });
    expect(await (await fetch(`${world.url}${path}`)).text()).toContain('“不满意”，报事将重新交给工作人员处理（仅限一次）');
    const res = await rate(world, path, { rating: 'unsatisfied', note: '还是很吵' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`${path}?done=reopened`);
    const o = world.orders.stored[0]!.view;
    expect([o.state, o.reopenCount]).toEqual(['reopened', 1]);
    const page = await (await fetch(`${world.url}${res.headers.get('location')}`)).text();
    expect(page).toContain('已重新交给工作人员处理');
    expect(page).toContain('还是很吵');
    expect(page).not.toContain('name="rating"');

    await world.orders.change(id, { action: 'resolve' }, { kind: 'user', id: 'u1' });
    const again = await (await fetch(`${world.url}${path}`)).text();
    expect(again.match(/name="rating"/g)).toHaveLength(3);
    expect(again).toContain('已重新处理过一次');
    expect((await rate(world, path, { rating: 'unsatisfied' })).headers.get('location')).toBe(`${path}?done=rated`);
    expect([world.orders.stored[0]!.view.state, world.orders.stored[0]!.view.reopenCount]).toEqual(['resolved', 1]);
    // Rated for this resolution: no second rating.
    expect((await rate(world, path, { rating: 'satisfied' })).status).toBe(409);
    expect(await world.metric('rb_resident_ratings_total', { rating: 'unsatisfied' })).toBe(2);
  });

  it('shows the resident their own photos and the resolution\'s, never a photo of an internal note', async () => {
    world = await startRoutes();
    const res = await post(`${world.url}/r/estate-a`, report, [{ name: 'a.jpg', type: 'image/jpeg', data: await phoneJpeg() }]);
    const path = followPathOf(await res.text());
    const id = world.orders.stored[0]!.view.id;
    const internal = { contentType: 'image/jpeg' as const, data: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer() };
    await world.orders.change(id, { action: 'note', note: 'x', photos: [internal] }, { kind: 'user', id: 'u1' });
    await world.orders.change(id, { action: 'resolve', photos: [internal] }, { kind: 'user', id: 'u1' });
    const page = await (await fetch(`${world.url}${path}`)).text();
    const srcs = [...page.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
    expect(srcs).toEqual([`${path}/photos/photo-1`, `${path}/photos/photo-3`]);
    const own = await fetch(`${world.url}${srcs[0]}`);
    expect(own.status).toBe(200);
    expect(own.headers.get('content-type')).toBe('image/jpeg');
    expect((await sharp(Buffer.from(await own.arrayBuffer())).metadata()).width).toBe(320);
    expect((await fetch(`${world.url}${path}/photos/photo-2`)).status).toBe(404);
    expect((await fetch(`${world.url}/r/f/AAAAAAAAAAAAAAAAAAAAAAAA/photos/photo-1`)).status).toBe(404);
  });

  it('limits follow requests per address (residents.followPerAddressPerMinute)', async () => {
    world = await startRoutes({ followPerAddressPerMinute: 3 });
    const { path } = await filed(world);
    for (let i = 0; i < 3; i++) expect((await fetch(`${world.url}${path}`)).status).toBe(200);
    const res = await fetch(`${world.url}${path}`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('60');
    world.clock.now += 60_000;
    expect((await fetch(`${world.url}${path}`)).status).toBe(200);
  });
});
