import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.js';

/**
 * The README's CLI table and the CLI's --help cannot drift apart: every command that runs something
 * has a row, and every option a row shows is in that command's --help.
 */
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The `red-butler …` commands of the table in "## The CLI", each with the options shown with it. */
function tableCommands(): Array<{ path: string[]; options: string[]; text: string }> {
  const section = README.slice(README.indexOf('## The CLI'), README.indexOf('\n## ', README.indexOf('## The CLI') + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('| `red-butler'));
  const out: Array<{ path: string[]; options: string[]; text: string }> = [];
  for (const row of rows) {
    const first = row.replace(/\\\|/g, '¦').split('|')[1]!; // the command column; `\|` is a pipe inside it
    let path: string[] = [];
    for (const [, code] of first.matchAll(/`([^`]+)`/g)) {
      const text = code!.replace(/¦/g, '|');
      if (text.startsWith('red-butler ')) {
        const words = text.slice('red-butler '.length).split(/\s+/);
        const end = words.findIndex((w) => !/^[a-z]+(\|[a-z]+)*$/.test(w));
        path = words.slice(0, end === -1 ? words.length : end);
      }
      // `--plan FILE` after `red-butler simulate …`: another way to call the same command.
      out.push({ path, options: [...text.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]), text });
    }
  }
  return out;
}

/** Every path through `a|b` alternatives: ['hub', 'gateway', 'rotate|revoke'] → two paths. */
const expand = (path: string[]): string[][] =>
  path.reduce<string[][]>((acc, w) => acc.flatMap((p) => w.split('|').map((alt) => [...p, alt])), [[]]);

function find(program: Command, path: string[]): Command | undefined {
  let cmd: Command | undefined = program;
  for (const name of path) cmd = cmd?.commands.find((c) => c.name() === name);
  return cmd;
}

/** Commands that run something: no subcommands, or options of their own (hub, simulate). */
function runnable(cmd: Command, path: string[] = []): string[][] {
  return cmd.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => {
      const p = [...path, c.name()];
      const own = c.commands.length === 0 || c.options.some((o) => o.long !== '--help') ? [p] : [];
      return [...own, ...runnable(c, p)];
    });
}

describe('README CLI table', () => {
  const program = buildProgram();
  const rows = tableCommands();

  it('lists every command', () => {
    const listed = new Set(rows.flatMap((r) => expand(r.path)).map((p) => p.join(' ')));
    const commands = runnable(program).map((p) => p.join(' '));
    expect(commands.length).toBeGreaterThan(15);
    expect(commands.filter((c) => !listed.has(c))).toEqual([]);
  });

  it("shows only options that are in the command's --help", () => {
    const wrong: string[] = [];
    for (const row of rows) {
      for (const path of expand(row.path)) {
        const cmd = find(program, path);
        if (!cmd) {
          wrong.push(`${path.join(' ')}: no such command (${row.text})`);
          continue;
        }
        const help = cmd.helpInformation();
        for (const option of row.options) if (!new RegExp(`${option}\\b(?!-)`).test(help)) wrong.push(`red-butler ${path.join(' ')} ${option}`);
      }
    }
    expect(rows.length).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it('each default shown in a row is the one --help gives', () => {
    // `[--rate 3]`, `[--data-dir ./data]`: a number or a path in a row is the default --help states
    // (capitals such as `[--rate R]` are placeholders, `[--devices a,b]` an example).
    const wrong: string[] = [];
    for (const row of rows) {
      for (const [, option, value] of row.text.matchAll(/\[(--[a-z-]+) ([^\]\s|]+)\]/g)) {
        if (!/^[\d.]+$|^\.\/?[\w.-]+$/.test(value!)) continue;
        for (const path of expand(row.path)) {
          const o = find(program, path)?.options.find((x) => x.long === option);
          if (o?.defaultValue !== undefined && String(o.defaultValue) !== value) wrong.push(`${path.join(' ')} ${option}: README ${value}, --help ${String(o.defaultValue)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
