import { connect } from 'node:net';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { followPathOf, phoneJpeg, post, startRoutes, type RoutesWorld } from './world.js';

let world: RoutesWorld | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const report = { category: 'repair', building: '3号楼', unit: '2单元 501', description: '楼道灯不亮', phone: '138 0013 8000' };

describe('resident report page (hub/residents/routes.ts)', () => {
  it('serves the form: the estate named (escaped), six categories, three photo inputs, strict CSP, the browser cookie', async () => {
    world = await startRoutes();
    const res = await fetch(`${world.url}/r/estate-a`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('枫林苑 &lt;b&gt;东区&lt;/b&gt;');
    expect(html).not.toContain('<b>东区');
    for (const zh of ['报修', '安全隐患', '环境卫生', '噪音扰民', '求助', '其他']) expect(html).toContain(zh);
    expect(html.match(/type="file" name="photo" accept="image\/\*"/g)).toHaveLength(3);
    expect(html).toContain('enctype="multipart/form-data"');
    expect(html).not.toMatch(/<script|https?:\/\//);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(res.headers.get('set-cookie')).toMatch(/^rb_reporter=[A-Za-z0-9_-]{22}; Max-Age=\d+; Path=\/r; Expires=.*HttpOnly; SameSite=Lax/);
    // An estate without a name shows its id.
    expect(await (await fetch(`${world.url}/r/estate-b`)).text()).toContain('estate-b');
  });

  it('answers an unknown estate with a readable 404 page, for the form and for a post', async () => {
    world = await startRoutes();
    for (const res of [await fetch(`${world.url}/r/no-such-estate`), await post(`${world.url}/r/no-such-estate`, report), await fetch(`${world.url}/r/Bad%20Id`)]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toContain('找不到这个小区');
    }
    expect(world.orders.stored).toHaveLength(0);
  });

  it('stores a report with a photo (GPS stripped) before it shows the number and the follow link', async () => {
    world = await startRoutes();
    const res = await post(`${world.url}/r/estate-a`, report, [{ name: 'IMG_0001.jpg', type: 'image/jpeg', data: await phoneJpeg() }]);
    const html = await res.text();
    expect(res.status).toBe(201);
    expect(world.orders.stored).toHaveLength(1);
    const o = world.orders.stored[0]!;
    expect(html).toContain(o.view.no);
    expect(o.input).toMatchObject({ estate: 'estate-a', source: 'resident', category: 'repair', building: '3号楼', unit: '2单元 501', description: '楼道灯不亮', phone: '13800138000' });
    expect(o.actors).toEqual([{ kind: 'resident' }]);
    expect(o.photos).toHaveLength(1);
    const meta = await sharp(o.photos[0]!.data).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.exif).toBeUndefined();
    expect(o.photos[0]!.data.includes(Buffer.from('TestCamMaker'))).toBe(false);
    const follow = followPathOf(html);
    expect(html).toContain(`${world.url}${follow}`);
    const page = await (await fetch(`${world.url}${follow}`)).text();
    expect(page).toContain(o.view.no);
    expect(page).toContain('已受理，待派单');
    expect(page).not.toContain('13800138000');
    expect(await world.metric('rb_resident_reports_accepted_total')).toBe(1);
  });

  it('keeps a script in the description as text: stored as written, shown escaped on the follow page', async () => {
    world = await startRoutes();
    const evil = `<script>alert('x')</script><img src=x onerror="alert(1)">`;
    const res = await post(`${world.url}/r/estate-a`, { ...report, description: evil, building: '<i>B</i>' });
    expect(res.status).toBe(201);
    expect(world.orders.stored[0]!.input.description).toBe(evil);
    const page = await (await fetch(`${world.url}${followPathOf(await res.text())}`)).text();
    expect(page).toContain('&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(page).toContain('&lt;i&gt;B&lt;/i&gt;');
    expect(page).not.toContain('<script');
    expect(page).not.toContain('<img');
  });

  it('answers a filled honeypot like a success, stores nothing, and counts it', async () => {
    world = await startRoutes();
    const res = await post(`${world.url}/r/estate-a`, { ...report, website: 'http://spam.example' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('报事已提交');
    expect(html).toMatch(/GD\d{8}-\d{4}/);
    expect(world.orders.stored).toHaveLength(0);
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'honeypot' })).toBe(1);
    expect((await fetch(`${world.url}${followPathOf(html)}`)).status).toBe(404);
  });

  it('refuses an oversized photo with a clear error naming the key, and keeps what was typed', async () => {
    world = await startRoutes({ maxPhotoBytes: 64 * 1024 });
    const big = await sharp({ create: { width: 700, height: 500, channels: 3, background: '#888' } })
      .composite([{ input: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="700" height="500"><filter id="n"><feTurbulence baseFrequency="0.9" numOctaves="3"/></filter><rect width="700" height="500" filter="url(#n)"/></svg>') }])
      .jpeg({ quality: 95 })
      .toBuffer();
    expect(big.length).toBeGreaterThan(64 * 1024);
    const res = await post(`${world.url}/r/estate-a`, report, [{ name: 'big.jpg', type: 'image/jpeg', data: big }]);
    expect(res.status).toBe(413);
    const html = await res.text();
    expect(html).toContain('照片“big.jpg”太大');
    expect(html).toContain('residents.maxPhotoBytes');
    expect(html).toContain('楼道灯不亮');
    expect(world.orders.stored).toHaveLength(0);
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'too-large' })).toBe(1);
  });

  it('refuses a file that is not a photo, and more than three photos', async () => {
    world = await startRoutes();
    const fake = await post(`${world.url}/r/estate-a`, report, [{ name: 'cat.jpg', type: 'image/jpeg', data: Buffer.from('#!/bin/sh\necho this is not a jpeg\n') }]);
    expect(fake.status).toBe(400);
    const html = await fake.text();
    expect(html).toContain('文件“cat.jpg”不是照片或已损坏');
    expect(html).toContain('not a photo');
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'bad-photo' })).toBe(1);

    const photo = await phoneJpeg(40, 30);
    const four = await post(`${world.url}/r/estate-a`, report, [1, 2, 3, 4].map((i) => ({ name: `${i}.jpg`, type: 'image/jpeg', data: photo })));
    expect(four.status).toBe(413);
    expect(await four.text()).toContain('最多只能上传 3 张照片');
    expect(world.orders.stored).toHaveLength(0);
  });

  it('refuses a body over residents.maxBodyBytes before reading it', async () => {
    world = await startRoutes({ maxBodyBytes: 100 * 1024, maxPhotoBytes: 90 * 1024 });
    const photo = Buffer.alloc(80 * 1024, 1);
    const res = await post(`${world.url}/r/estate-a`, report, [1, 2].map((i) => ({ name: `${i}.jpg`, type: 'image/jpeg', data: photo })));
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('residents.maxBodyBytes');
    expect(world.orders.stored).toHaveLength(0);
  });

  it('cuts a refused upload that goes on past twice residents.maxBodyBytes', async () => {
    world = await startRoutes({ maxBodyBytes: 64 * 1024, maxPhotoBytes: 32 * 1024 });
    const { port } = new URL(world.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.resume();
    socket.on('error', () => undefined);
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.write(`POST /r/estate-a HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`);
    let sent = 0;
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let open = true;
    void closed.then(() => (open = false));
    while (open && sent < 100 * 1024 * 1024) {
      if (!socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      sent += chunk.length;
      if (sent % (1024 * 1024) === 0) await new Promise((r) => setImmediate(r));
    }
    await closed;
    // Cut (a reset: the 413 answered first may be lost with it; a phone within the cap reads it, above).
    expect(sent).toBeLessThan(20 * 1024 * 1024);
    expect(world.orders.stored).toHaveLength(0);
  });

  it('asks again for a missing category, a missing description or a bad phone number (values kept, escaped)', async () => {
    world = await startRoutes();
    const res = await post(`${world.url}/r/estate-a`, { description: '   ', building: '"><b>x', phone: 'call me' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('请选择类别');
    expect(html).toContain('请填写情况描述');
    expect(html).toContain('电话号码只能包含数字');
    expect(html).toContain('value="&quot;&gt;&lt;b&gt;x"');
    expect(world.orders.stored).toHaveLength(0);
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'invalid' })).toBe(1);
  });
});

describe('resident report rate limits', () => {
  it('answers a browser past residents.reportsPerBrowserPerHour with 429 and Retry-After, until the hour has passed', async () => {
    world = await startRoutes({ reportsPerBrowserPerHour: 2 });
    const cookie = (await fetch(`${world.url}/r/estate-a`)).headers.get('set-cookie')!.split(';')[0]!;
    expect((await post(`${world.url}/r/estate-a`, report, [], cookie)).status).toBe(201);
    world.clock.now += 10 * 60_000;
    expect((await post(`${world.url}/r/estate-a`, report, [], cookie)).status).toBe(201);
    world.clock.now += 5 * 60_000;
    const refused = await post(`${world.url}/r/estate-a`, report, [], cookie);
    expect(refused.status).toBe(429);
    // The first report leaves the window 45 minutes from now.
    expect(refused.headers.get('retry-after')).toBe(String(45 * 60));
    expect(await refused.text()).toContain('请 45 分钟后再试');
    // Another browser (another cookie) on the same address is not held back.
    expect((await post(`${world.url}/r/estate-a`, report, [], 'rb_reporter=another-browser-cookie-1')).status).toBe(201);
    world.clock.now += 45 * 60_000;
    expect((await post(`${world.url}/r/estate-a`, report, [], cookie)).status).toBe(201);
    expect(world.orders.stored).toHaveLength(4);
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'rate' })).toBe(1);
  });

  it('answers a flood from one address past residents.reportsPerAddressPerHour with 429, cookies or not', async () => {
    world = await startRoutes({ reportsPerAddressPerHour: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await post(`${world.url}/r/estate-a`, report, [], `rb_reporter=flood-${i}`);
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBe(3600);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    expect(world.orders.stored).toHaveLength(5);
    expect(await world.metric('rb_resident_reports_refused_total', { reason: 'rate' })).toBe(3);
  });
});
