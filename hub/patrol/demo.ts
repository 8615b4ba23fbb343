import type { Patrol } from './service.js';

/**
 * The demo street's patrol round (`red-butler demo`): four checkpoints of one estate and a round on
 * every hour, so the phone's 巡更 tab has a run on now and its checkpoints a deadline soon. Idempotent:
 * an estate that has checkpoints already is left as it is.
 */
export async function seedDemoPatrol(patrol: Patrol, estate: string): Promise<void> {
  const { store } = patrol;
  if ((await store.listCheckpoints([estate])).length > 0) return;
  const now = patrol.now();
  const cps = [];
  for (const [name, location] of [['北门岗亭', '北门东侧'], ['3号楼地下车库', '车库入口'], ['东侧围墙', '东墙中段'], ['配电房', '5号楼旁']] as const) {
    cps.push(await store.addCheckpoint({ estate, name, location }, now));
  }
  const starts = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:00`);
  const round = await store.addRound({ estate, name: '整点巡更', starts, windowMinutes: 30, enabled: true, points: cps.map((c, i) => ({ checkpoint: c.id, dueMinutes: 10 + 5 * i })) }, now);
  await patrol.plan([round]);
}
