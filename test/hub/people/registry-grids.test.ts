import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRegistry, type Registry } from '../../../hub/registry.js';

let dir: string;
let r: Registry | undefined;
afterEach(() => {
  r?.close();
  r = undefined;
  rmSync(dir, { recursive: true, force: true });
});
const fresh = (): Registry => {
  dir = mkdtempSync(join(tmpdir(), 'rb-grids-'));
  return (r = openRegistry(dir));
};

describe('registry grids and scopes', () => {
  it('a grid belongs to a street; an estate given a grid takes its street; mismatches and unknown grids are refused', () => {
    const reg = fresh();
    reg.addStreet('east');
    reg.addStreet('west');
    expect(reg.addGrid('g1', { street: 'east', name: 'Grid 1' })).toEqual({ id: 'g1', street: 'east', name: 'Grid 1' });
    expect(() => reg.addGrid('g2', { street: 'nowhere' })).toThrow(expect.objectContaining({ code: 'RB_ERR_UNKNOWN_STREET' }));
    expect(() => reg.addGrid('G!')).toThrow(expect.objectContaining({ code: 'RB_ERR_BAD_ID' }));
    expect(reg.addEstate('maple', { grid: 'g1', name: 'Maple' })).toEqual({ id: 'maple', street: 'east', grid: 'g1', name: 'Maple' });
    expect(() => reg.addEstate('elm', { grid: 'nope' })).toThrow(expect.objectContaining({ code: 'RB_ERR_UNKNOWN_GRID' }));
    expect(() => reg.addEstate('elm', { street: 'west', grid: 'g1' })).toThrow(/belongs to street east/);
    expect(reg.getEstate('maple')).toMatchObject({ grid: 'g1' });
    expect(reg.listGrids()).toEqual([{ id: 'g1', street: 'east', name: 'Grid 1' }]);
  });

  it('estatesInScope resolves estate:, grid: and street: scopes; junk covers nothing', () => {
    const reg = fresh();
    reg.addStreet('east');
    reg.addStreet('west');
    reg.addGrid('g1', { street: 'east' });
    reg.addGrid('g2', { street: 'east' });
    reg.addEstate('a', { grid: 'g1' });
    reg.addEstate('b', { grid: 'g1' });
    reg.addEstate('c', { grid: 'g2' });
    reg.addEstate('d', { street: 'west' });
    expect(reg.estatesInScope(['grid:g1'])).toEqual(['a', 'b']);
    expect(reg.estatesInScope(['street:east'])).toEqual(['a', 'b', 'c']);
    expect(reg.estatesInScope(['estate:d', 'grid:g2'])).toEqual(['c', 'd']);
    // An estate scope covers its estate even before the estate is registered.
    expect(reg.estatesInScope(['estate:later'])).toEqual(['later']);
    expect(reg.estatesInScope(['city:x', 'estate:', 'grid:G1', 'nonsense'])).toEqual([]);
  });
});
