import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Field, Logger } from '../core/index.js';
import { BuildProgress } from './progress.js';

function recorder(): { logger: Logger; builds: string[]; all: string[] } {
  const builds: string[] = [];
  const all: string[] = [];
  let next = 1;
  const types = new Map<number, number>();
  const logger: Logger = {
    log() {},
    startActivity: (type: number) => {
      const id = next++;
      types.set(id, type);
      all.push(`start ${type}`);
      return id;
    },
    stopActivity: (id: number) => void all.push(`stop ${types.get(id)}`),
    result: (id: number, type: number, fields: Field[]) => {
      if (types.get(id) === 104) builds.push(fields.join(','));
    },
  };
  return { logger, builds, all };
}

test('progress: 2.8 counts for a dependency that is built and a top goal that fails', () => {
  const { logger, builds, all } = recorder();
  const p = new BuildProgress(logger);
  p.begin();
  p.goalCreated(); // top
  p.goalCreated(); // dependency
  p.builderStarted();
  p.goalDone(true, 'built');
  p.builderStarted();
  p.goalDone(true, 'failed');
  p.end();
  assert.deepEqual(builds, ['0,1,0,0', '0,2,0,0', '0,2,1,0', '1,2,0,0', '1,2,1,0', '1,1,0,1']);
  assert.deepEqual(all, ['start 102', 'start 104', 'start 103', 'stop 103', 'stop 104', 'stop 102']);
});

test('progress: valid, dependency-failed and cancelled goals', () => {
  const { logger, builds } = recorder();
  const p = new BuildProgress(logger);
  p.begin();
  p.goalCreated();
  p.goalDone(false, 'valid');
  p.goalCreated();
  p.goalDone(false, 'depFailed');
  p.goalCreated();
  p.goalDone(false, 'cancelled');
  p.end();
  assert.deepEqual(builds, ['0,1,0,0', '0,0,0,0', '0,1,0,0', '0,0,0,0', '0,1,0,0']);
});

test('progress: nested runs share the outer activities', () => {
  const { logger, all } = recorder();
  const p = new BuildProgress(logger);
  p.begin();
  p.begin();
  p.end();
  assert.deepEqual(all, ['start 102', 'start 104', 'start 103']);
  p.end();
  assert.equal(all.length, 6);
});
