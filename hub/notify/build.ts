import type { Logger } from 'pino';
import type { Channel, ChannelDeps, ChannelPlugin } from './channel.js';
import { ownKeys, type ChannelInstanceConfig } from './config.js';
import type { InboundHandler, InboundLookup } from '../api/notify-inbound.js';

/**
 * The configured channel instances, built by their plugins (the config was checked at load:
 * hub/notify/config.ts checkChannels). Each gets a child logger named by its id, never its secrets.
 */
export function buildChannels(
  instances: readonly ChannelInstanceConfig[],
  plugins: readonly ChannelPlugin[],
  log: Logger,
  deps: Omit<ChannelDeps, 'log'> = {},
): Map<string, Channel> {
  const channels = new Map<string, Channel>();
  for (const c of instances) {
    const plugin = plugins.find((p) => p.type === c.type);
    if (!plugin) throw new Error(`notify.channels: unknown channel type ${JSON.stringify(c.type)}`);
    channels.set(c.id, plugin.create(c.id, plugin.config.parse(ownKeys(c)), { ...deps, log: log.child({ channel: c.id, type: c.type }) }));
  }
  return channels;
}

/** The configured channels' callbacks: each plugin's `inbound` bound to its instance's parsed config. */
export function inboundOf(instances: readonly ChannelInstanceConfig[], plugins: readonly ChannelPlugin[]): InboundLookup {
  const handlers = new Map<string, InboundHandler>();
  for (const c of instances) {
    const plugin = plugins.find((p) => p.type === c.type);
    if (!plugin?.inbound) continue;
    const config: unknown = plugin.config.parse(ownKeys(c));
    handlers.set(c.id, { parse: (req) => plugin.inbound!(config, req), ...(plugin.inboundAnswer !== undefined ? { answer: plugin.inboundAnswer } : {}) });
  }
  return (channelId) => handlers.get(channelId);
}
