import { signal } from '@preact/signals';
import { en } from './en.js';
import { zhCN, type MessageKey, type Messages } from './zh-CN.js';

export type Lang = 'zh-CN' | 'en';
export type { MessageKey };

const CATALOGUES: Record<Lang, Messages> = { 'zh-CN': zhCN, en };
const STORE_KEY = 'rb.lang';

function initialLang(): Lang {
  const saved = localStorage.getItem(STORE_KEY);
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN';
}

/** The viewer's language; zh-CN unless they switched (persisted in localStorage). */
export const lang = signal<Lang>(initialLang());
document.documentElement.lang = lang.value;

export function setLang(next: Lang): void {
  lang.value = next;
  localStorage.setItem(STORE_KEY, next);
  document.documentElement.lang = next;
}

export const toggleLang = (): void => setLang(lang.value === 'en' ? 'zh-CN' : 'en');

/** A message, with `{name}` placeholders filled. Reading `lang.value` re-renders the caller on a switch. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const text = CATALOGUES[lang.value][key];
  return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m)) : text;
}

/** A message whose key is built from data (a rule or event type); the raw value when it has none. */
export function tOr(prefix: string, value: string): string {
  const key = `${prefix}.${value}`;
  return key in CATALOGUES[lang.value] ? t(key as MessageKey) : value;
}
