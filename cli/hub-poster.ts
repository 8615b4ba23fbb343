import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { RbError } from '../hub/errors.js';
import { closeAll, CONFIG_HELP, DATA_DIR_HELP, DB_URL_HELP, openHubRegistry, refused, type AdminDbOptions } from './hub.js';

type PosterOptions = AdminDbOptions & { estate: string; out: string; publicUrl?: string };

/** `red-butler hub poster`: the estate's printable A4 QR poster (issue 19), as the API serves it. */
export function registerPosterCommand(hub: Command): void {
  hub
    .command('poster')
    .description("write an estate's printable A4 poster (its name, 扫码报事 Scan to report, the QR code of {notify.publicUrl}/r/{estate}) as PDF or PNG")
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--db-url <url>', DB_URL_HELP)
    .option('--config <file>', CONFIG_HELP)
    .requiredOption('--estate <id>', 'estate id ([a-z0-9-]{1,64})')
    .requiredOption('--out <file>', 'the file to write: .pdf or .png')
    .option('--public-url <url>', 'the address phones reach the hub at (default notify.publicUrl, env RB_NOTIFY_PUBLIC_URL)')
    .action(async (o: PosterOptions) => {
      const opened: Array<{ close(): void | Promise<void> }> = [];
      try {
        const kind = extname(o.out).toLowerCase();
        if (kind !== '.pdf' && kind !== '.png') throw new RbError('RB_ERR_BAD_QUERY', `--out ${o.out}: the file name ends in .pdf or .png`);
        const { registry, config } = await openHubRegistry(o, opened);
        const estate = registry.getEstate(o.estate);
        if (!estate) throw new RbError('RB_ERR_NOT_FOUND', `no estate ${o.estate} (red-butler hub estate add)`);
        const [{ posterPdf, posterPng }, { reportUrl }] = await Promise.all([import('../hub/residents/poster.js'), import('../hub/residents/poster-routes.js')]);
        const url = reportUrl(o.publicUrl ?? config.notify.publicUrl, o.estate);
        const input = { estateName: estate.name ?? o.estate, url, fontFile: config.residents.posterFont };
        const data = kind === '.pdf' ? await posterPdf(input) : await posterPng(input);
        writeFileSync(o.out, data);
        process.stdout.write(`${JSON.stringify({ estate: o.estate, out: resolve(o.out), url, bytes: data.length })}\n`);
      } catch (err) {
        refused('poster', err);
      } finally {
        await closeAll(opened);
      }
    });
}
