import type { ChannelPlugin } from '../channel.js';

/**
 * THE registry of notification channel plugins: `notify.channels[].type` names one of these. Each
 * plugin is one file in this folder and passes test/hub/notify/channel-conformance.ts.
 */
export const CHANNEL_PLUGINS: ChannelPlugin[] = [];
