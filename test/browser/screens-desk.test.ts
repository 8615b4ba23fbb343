import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepShot, overflowing, setLang, watch } from './checks.js';
import { API_TOKEN, ESTATE_A, PASSWORD, STREET, VIEWPORTS, launchChromium, loggedIn, startWorld, type World } from './support.js';

/**
 * Issue 15, item 5: the desk screens. The center adds a shift in the roster's week view and the hub's
 * on-duty answer reflects it; an exception takes the volunteer off duty; the admin adds a user, sets a
 * password, disables a user and changes an estate's alert settings from the admin screen. Both screens
 * at 1920×1080 in both languages: no console error, no failed request, no text wider than its box.
 */
describe('screens: roster and administration', () => {
  let world: World;
  let browser: Browser;

  beforeAll(async () => {
    world = await startWorld([
      { name: 'vol-a', role: 'volunteer', scope: `estate:${ESTATE_A}` },
      { name: 'vol-old', role: 'volunteer', scope: `estate:${ESTATE_A}` },
      { name: 'center-1', role: 'center', scope: `street:${STREET}` },
      { name: 'admin-1', role: 'admin', scope: `street:${STREET}` },
    ]);
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await world?.stop();
  });

  const onDuty = async (): Promise<string[]> => {
    const r = await world.hub.api('GET', `/api/v1/roster/on-duty?estate=${ESTATE_A}`, { token: API_TOKEN });
    return (r.json.onDuty as Array<{ name: string }>).map((u) => u.name);
  };
  const login = async (name: string, password: string) => (await world.hub.api('POST', '/api/v1/auth/login', { token: null, body: { name, password } })).status;

  async function clean(page: Page, name: string): Promise<void> {
    for (const lang of ['zh-CN', 'en'] as const) {
      await setLang(page, lang);
      await page.waitForTimeout(300);
      expect(await overflowing(page), `${name} ${lang}`).toEqual([]);
      await keepShot(page, `${name}-${lang}`);
    }
    await setLang(page, 'zh-CN');
  }

  it('the center adds a shift in the week view; the on-duty answer reflects it; an exception takes it back', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'center-1', VIEWPORTS.screen, '/roster');
    await page.waitForURL('**/roster');
    const seen = watch(page);
    expect(await onDuty()).toEqual([]);
    const form = page.locator('[data-testid=shift-form]');
    await form.locator('select[name=user] option', { hasText: 'vol-a' }).waitFor({ state: 'attached', timeout: 10_000 });
    await form.locator('select[name=user]').selectOption({ label: 'vol-a' });
    // Today's weekday is preselected (hub time zone); the whole day covers now.
    await form.locator('input[name=start]').fill('00:00');
    await form.locator('input[name=end]').fill('23:59');
    await form.getByRole('button', { name: '添加' }).click();
    const shift = page.locator('.day.today li.shift').filter({ hasText: 'vol-a' });
    await shift.waitFor({ timeout: 10_000 });
    expect(await shift.textContent()).toContain('00:00–23:59');
    await expect.poll(onDuty, { timeout: 10_000 }).toEqual(['vol-a']);
    await expect.poll(() => page.locator('[data-testid=on-duty-now]').textContent(), { timeout: 10_000 }).toContain('vol-a');

    // Time off from now for a day: off duty at once.
    const exc = page.locator('[data-testid=exception-form]');
    await exc.locator('select[name=user]').selectOption({ label: 'vol-a' });
    await exc.locator('select[name=kind]').selectOption('off');
    await exc.getByRole('button', { name: '添加' }).click();
    await page.locator('.day.today li.exception.kind-off').filter({ hasText: 'vol-a' }).waitFor({ timeout: 10_000 });
    await expect.poll(onDuty, { timeout: 10_000 }).toEqual([]);
    await clean(page, 'roster');

    // Delete both, each with a second tap to confirm.
    for (const sel of ['.day.today li.exception', '.day.today li.shift']) {
      const item = page.locator(sel).filter({ hasText: 'vol-a' }).first();
      await item.locator('button').click();
      await item.getByRole('button', { name: '确认删除' }).click();
      await expect.poll(() => page.locator(sel).filter({ hasText: 'vol-a' }).count(), { timeout: 10_000 }).toBe(0);
    }
    expect((await world.hub.api('GET', `/api/v1/roster/shifts?estate=${ESTATE_A}`, { token: API_TOKEN })).json.items).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
    await context.close();
  }, 90_000);

  it('the admin adds a user, sets a password, disables one, and saves alert settings', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'admin-1', VIEWPORTS.screen, '/admin');
    await page.waitForURL('**/admin');
    const seen = watch(page);
    await page.locator('table.users tr[data-user="vol-a"]').waitFor({ timeout: 10_000 });

    // Add a volunteer of estate-a with a password: it can log in.
    const add = page.locator('[data-testid=add-user]');
    await add.locator('input[name=name]').fill('vol-new');
    await add.locator('input[name=displayName]').fill('李新');
    await add.locator('select[name=role]').selectOption('volunteer');
    await add.locator('select[name=scope]').selectOption(`estate:${ESTATE_A}`);
    await add.locator('input[name=initial-password]').fill('first-password-1');
    await add.getByRole('button', { name: '添加用户' }).click();
    await expect.poll(() => add.locator('[data-testid=add-user-note]').textContent(), { timeout: 10_000 }).toBe('已添加用户 vol-new');
    const row = page.locator('table.users tr[data-user="vol-new"]');
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('李新');
    expect(await login('vol-new', 'first-password-1')).toBe(200);

    // A new password: the old one stops working.
    await row.getByRole('button', { name: '设置密码' }).click();
    await row.locator('input[name=new-password]').fill('second-password-2');
    await row.getByRole('button', { name: '保存' }).click();
    await expect.poll(() => page.locator('[data-testid=user-note]').textContent(), { timeout: 10_000 }).toContain('密码已更新');
    expect(await login('vol-new', 'first-password-1')).toBe(401);
    expect(await login('vol-new', 'second-password-2')).toBe(200);

    // Disable vol-old (confirmed): it can no longer log in.
    expect(await login('vol-old', PASSWORD)).toBe(200);
    const old = page.locator('table.users tr[data-user="vol-old"]');
    await old.getByRole('button', { name: '停用' }).click();
    await old.getByRole('button', { name: '确认停用 vol-old' }).click();
    await expect.poll(() => old.textContent(), { timeout: 10_000 }).toContain('已停用');
    expect(await login('vol-old', PASSWORD)).toBe(401);

    // Alert settings of estate-a: a severity, a switch, auto-resolve of a state rule, quiet hours, hold-off.
    const form = page.locator('[data-testid=alert-settings]');
    await form.locator('tr[data-rule="door.held"]').waitFor({ timeout: 10_000 });
    await form.locator('select[name="door.held.severity"]').selectOption('3');
    await form.locator('input[name="motion.night.enabled"]').uncheck();
    await form.locator('input[name="door.held.autoResolve"]').uncheck();
    await form.locator('input[name="door.held.heldS"]').fill('90');
    await form.locator('input[name="quietHours.from"]').fill('22:30');
    await form.locator('select[name="quietHours.maxSeverity"]').selectOption('2');
    await form.locator('input[name=clearAfterS]').fill('45');
    // Alarms are signed off by a person: no auto-resolve switch for a forced door.
    expect(await form.locator('input[name="door.forced.autoResolve"]').count()).toBe(0);
    await form.getByRole('button', { name: '保存设置' }).click();
    await expect.poll(() => form.locator('[data-testid=settings-note]').textContent(), { timeout: 10_000 }).toBe('告警设置已保存');
    const saved = (await world.hub.api('GET', `/api/v1/estates/${ESTATE_A}/alert-settings`, { token: API_TOKEN })).json as Record<string, Record<string, unknown>>;
    expect(saved.rules).toMatchObject({ 'door.held': { severity: 3, heldS: 90 }, 'motion.night': { enabled: false } });
    expect(saved.quietHours).toMatchObject({ from: '22:30', maxSeverity: 2 });
    expect(saved.clearAfterS).toBe(45);
    expect(saved.autoResolve).toMatchObject({ 'door.held': false, 'door.forced': false });
    await clean(page, 'admin');
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toEqual([]);
    await context.close();
  }, 90_000);

  it('the desk screens are for center and admin: a volunteer gets one clear page', async () => {
    const { context, page } = await loggedIn(browser, world.hub.httpUrl, 'vol-a', VIEWPORTS.screen, '/admin');
    await page.waitForURL('**/admin');
    const seen = watch(page);
    await page.locator('[data-testid=role-only]').waitFor({ timeout: 10_000 });
    await page.goto('/roster');
    await page.locator('[data-testid=role-only]').waitFor({ timeout: 10_000 });
    expect(seen.failed).toEqual([]);
    expect(seen.errors).toEqual([]);
    await context.close();
  }, 60_000);
});
