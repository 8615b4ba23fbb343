import type { ChannelPlugin } from '../channel.js';
import { dingtalkRobotChannel } from './dingtalk-robot.js';
import { feishuBotChannel } from './feishu-bot.js';
import { gammuChannel } from './gammu.js';
import { smsAliyun } from './sms-aliyun.js';
import { smsTencent } from './sms-tencent.js';
import { voiceAliyun } from './voice-aliyun.js';
import { webhookChannel } from './webhook.js';
import { webpushPlugin } from './webpush.js';
import { wecomAppChannel } from './wecom-app.js';
import { wecomRobotChannel } from './wecom-robot.js';

/**
 * THE registry of notification channel plugins: `notify.channels[].type` names one of these (checked
 * at config load with the plugin's own schema, hub/notify/config.ts). Each plugin is one file in this
 * folder and passes test/hub/notify/channel-conformance.ts.
 */
export const CHANNEL_PLUGINS: ChannelPlugin[] = [
  smsAliyun,
  smsTencent,
  voiceAliyun,
  wecomRobotChannel,
  wecomAppChannel,
  dingtalkRobotChannel,
  feishuBotChannel,
  webhookChannel,
  webpushPlugin,
  gammuChannel,
] as ChannelPlugin[];
