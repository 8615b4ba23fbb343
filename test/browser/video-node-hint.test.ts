import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViewerHello } from '../../protocol/video.js';
import { ESTATE_A, STREET, VIEWPORTS, launchChromium, loggedIn, startWorld, waitLive, type World } from './support.js';
import { camera, encodeTestStream, expectPlaying, type Stream } from './video-support.js';

/**
 * Live video in a hub cluster, the screen's side (docs/video.md, "Across hub nodes"), in real headless
 * Chromium: the player opens `/api/v1/video/live?node=<node>` with the node the cameras view names
 * (HAProxy routes by it; test/hub/cluster/video-across-nodes.test.ts crosses the real one), and when
 * the hub it reached answers RB_ERR_GATEWAY_OFFLINE naming another node, the next socket asks for that
 * node and plays. The hub's video end is stood in for, as in video-wall.test.ts.
 */
describe('screens: the player follows the relay’s node', () => {
  let world: World;
  let browser: Browser;
  let page: Page;
  let stream: Stream;
  const sockets: Array<{ url: string; watch: ViewerHello }> = [];

  beforeAll(async () => {
    [world, stream] = await Promise.all([startWorld([{ name: 'center-1', role: 'center', scope: `street:${STREET}` }]), encodeTestStream(20)]);
    browser = await launchChromium();
    page = (await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen, '/street')).page;
    // The view says hub-b holds the relay (a stale hint: the gateway has moved to hub-a since).
    await page.route('**/api/v1/video/cameras?*', (route) => route.fulfill({ json: [camera('cam-north', { name: '北门摄像机', node: 'hub-b' })] }));
    await page.routeWebSocket(/\/api\/v1\/video\/live(\?.*)?$/, (ws) => {
      let timer: ReturnType<typeof setInterval> | undefined;
      ws.onMessage((raw) => {
        if (typeof raw !== 'string' || timer) return;
        const watch = JSON.parse(raw) as ViewerHello;
        sockets.push({ url: ws.url(), watch });
        if (new URL(ws.url()).searchParams.get('node') !== 'hub-a') {
          ws.send(JSON.stringify({ t: 'error', code: 'RB_ERR_GATEWAY_OFFLINE', message: "gateway gw-1's relay link is on hub node hub-a, not this one", node: 'hub-a' }));
          void ws.close({ code: 1000 });
          return;
        }
        ws.send(JSON.stringify({ t: 'ready', mime: stream.mime, width: 640, height: 360 }));
        ws.send(stream.init);
        let i = 0;
        timer = setInterval(() => (i < stream.media.length ? ws.send(stream.media[i++]!) : clearInterval(timer)), stream.segmentS * 1000);
      });
      ws.onClose(() => clearInterval(timer));
    });
    await page.goto(`/estate/${ESTATE_A}`);
    await waitLive(page);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  it('asks for the named node, then for the node the hub names, and plays', async () => {
    await page.locator('button[data-panel=wall]').click();
    await page.locator('[data-testid=camera-wall]').waitFor();
    await expectPlaying(page.locator('.wall-cell[data-device="cam-north"] .video-tile'));
    const nodes = sockets.map((s) => new URL(s.url).searchParams.get('node'));
    expect(nodes.slice(0, 2)).toEqual(['hub-b', 'hub-a']);
    // The token travels in `watch`, never in the URL.
    expect(sockets.every((s) => s.watch.token.length > 20 && !s.url.includes(s.watch.token))).toBe(true);
  });
});
