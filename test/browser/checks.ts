import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';

/**
 * What "the screen works" means in the browser tests of issue 15: no console error, no failed request,
 * no text wider than its box. Collected per page from the moment `watch` is called.
 */
export interface PageWatch {
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Requests that failed at the network level, or answered 4xx/5xx (`STATUS METHOD URL`). */
  failed: string[];
  /** Forget what was collected so far (e.g. after an expected 404). */
  clear(): void;
}

export function watch(page: Page): PageWatch {
  const w: PageWatch = {
    errors: [],
    failed: [],
    clear() {
      w.errors.length = 0;
      w.failed.length = 0;
    },
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') w.errors.push(msg.text());
  });
  page.on('pageerror', (err) => w.errors.push(err.message));
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    // A socket.io long-poll or a fetch cut short by our own navigation or page close is not a failure.
    if (why === 'net::ERR_ABORTED') return;
    w.failed.push(`FAILED ${r.method()} ${r.url()} ${why}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) w.failed.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  return w;
}

/**
 * Elements showing text that does not fit their box: `scrollWidth > clientWidth` (text cut, or pushed
 * out), for every rendered element that holds text, except scroll containers meant to scroll.
 * `vertical` also checks the height of the elements it matches (tiles of a fixed-size grid).
 */
export async function overflowing(page: Page, vertical?: string): Promise<string[]> {
  // Runs in the page; a string, as the test tsconfig has no DOM types.
  return (await page.evaluate(`(() => {
    const verticalSel = ${JSON.stringify(vertical ?? null)};
    const out = [];
    const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + (el.textContent || '').trim().slice(0, 60) + '"';
    for (const h of document.querySelectorAll('body *')) {
      // Skips boxes with no width, and the 1 px visually-hidden labels screen readers get (.sr-only).
      if (!(h.textContent || '').trim() || h.clientWidth <= 1) continue;
      const cs = getComputedStyle(h);
      if (cs.display === 'none' || cs.visibility === 'hidden') continue;
      if (cs.overflowX === 'auto' || cs.overflowX === 'scroll') continue;
      if (h.scrollWidth > h.clientWidth + 1) out.push(describe(h) + ' ' + h.scrollWidth + '>' + h.clientWidth);
    }
    if (verticalSel) {
      for (const h of document.querySelectorAll(verticalSel)) {
        if (h.scrollHeight > h.clientHeight + 1) out.push(describe(h) + ' height ' + h.scrollHeight + '>' + h.clientHeight);
      }
    }
    return out;
  })()`)) as string[];
}

/** Whether the page fits its viewport (no scroll bars) — for the wall screens. */
export async function fitsViewport(page: Page): Promise<{ fits: boolean; size: Record<string, number> }> {
  const size = (await page.evaluate('({ h: document.scrollingElement.scrollHeight, w: document.scrollingElement.scrollWidth, ih: innerHeight, iw: innerWidth })')) as Record<string, number>;
  return { fits: size.h! <= size.ih! && size.w! <= size.iw!, size };
}

/** With RB_SHOTS=dir set, keep a screenshot of what a test looked at (for a person to check). */
export async function keepShot(page: Page, name: string): Promise<void> {
  const dir = process.env.RB_SHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`) });
}

/** Switch the app's language with its own button (the choice is kept in localStorage). */
export async function setLang(page: Page, lang: 'zh-CN' | 'en'): Promise<void> {
  if ((await page.evaluate('document.documentElement.lang')) === lang) return;
  await page.locator('[data-testid=lang]').first().click();
  await page.waitForFunction(`document.documentElement.lang === ${JSON.stringify(lang)}`);
}
