import { readFileSync } from 'node:fs';
import type { V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { DEFAULT_IMAGE } from '../../../../operator/api/spec-schema.js';
import { desiredState } from '../../../../operator/desired/desired-objects.js';
import { runtimeImage } from '../../../../operator/desired/runtime-pod.js';
import { cluster } from './cluster-fixture.js';

const CHART_IMAGE = 'registry.example/team/imgroup@sha256:' + 'a'.repeat(64);

/** The image of every container of gate and logic pods, by StatefulSet name. */
function runtimeImages(spec: Parameters<typeof cluster>[0], defaultImage?: string): Record<string, string[]> {
  const { objects } = desiredState(cluster(spec), { logicPods: [], ...(defaultImage ? { runtime: { defaultImage } } : {}) });
  const out: Record<string, string[]> = {};
  for (const o of objects) {
    if (o.kind !== 'StatefulSet') continue;
    out[o.metadata?.name ?? ''] = ((o as V1StatefulSet).spec?.template.spec?.containers ?? []).map((c) => c.image ?? '');
  }
  return out;
}

describe('the runtime image of gate and logic pods', () => {
  it.each([
    ['spec.image wins over the operator default', { image: 'mine:1' }, CHART_IMAGE, 'mine:1'],
    ['the operator default (the chart\'s image values) when spec.image is absent', {}, CHART_IMAGE, CHART_IMAGE],
    ['DEFAULT_IMAGE when neither is given', {}, undefined, DEFAULT_IMAGE],
  ])('%s', (_case, spec, defaultImage, expected) => {
    expect(runtimeImages(spec, defaultImage)).toEqual({ 'chat-redis': ['redis:7.2'], 'chat-logic': [expected], 'chat-gate': [expected] });
    expect(runtimeImage(spec, defaultImage ? { defaultImage } : {})).toBe(expected);
  });

  it('never sets the Redis image from the operator default', () => {
    expect(runtimeImages({}, CHART_IMAGE)['chat-redis']).toEqual(['redis:7.2']);
  });

  it('DEFAULT_IMAGE is tagged with the package version', () => {
    const { version } = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(DEFAULT_IMAGE).toBe(`ghcr.io/imgroup/imgroup:${version}`);
  });
});
