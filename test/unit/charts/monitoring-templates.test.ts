/**
 * The chart's monitoring objects as `helm template` renders them: ServiceMonitor, PodMonitors and
 * PrometheusRule only when the values ask AND the cluster serves monitoring.coreos.com/v1; the
 * ServiceMonitor reaches the operator's ops port through the metrics Service; the PodMonitors
 * select exactly the gate and logic pods the operator creates (operator/desired) on their `ops`
 * port and label series the way the alert rules read them; the PrometheusRule is the rule file
 * unchanged; the dashboard ConfigMap carries the Grafana sidecar's label and the dashboard file.
 */
import { readFileSync } from 'node:fs';
import type { KubernetesObject, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { desiredState } from '../../../operator/desired/desired-objects.js';
import { loadRuleGroups } from '../../support/alert-rules.js';
import { DASHBOARD_FILE } from '../../support/dashboard.js';
import { helmTemplate, renderChart } from '../../support/helm-template.js';
import { cluster } from '../operator/desired/cluster-fixture.js';

const MONITORING_API = ['monitoring.coreos.com/v1'];
const ALL_ON = {
  monitoring: { serviceMonitor: { enabled: true }, podMonitors: { enabled: true }, prometheusRule: { enabled: true } },
  dashboards: { enabled: true },
};
const MONITORING_KINDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'];

type Obj = KubernetesObject & { spec?: any; data?: Record<string, string> };
const ofKind = (objects: KubernetesObject[], kind: string) => objects.filter((o) => o.kind === kind) as Obj[];
const one = (objects: KubernetesObject[], kind: string, name?: string): Obj => {
  const found = ofKind(objects, kind).filter((o) => name === undefined || o.metadata?.name === name);
  expect(found.map((o) => o.metadata?.name), `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0] as Obj;
};
const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe('without the Prometheus Operator API', () => {
  it('renders no ServiceMonitor, PodMonitor or PrometheusRule even when asked, and fails nothing', async () => {
    const objects = await renderChart({ values: ALL_ON });
    expect(objects.filter((o) => MONITORING_KINDS.includes(o.kind ?? ''))).toEqual([]);
    expect(ofKind(objects, 'Service').map((s) => s.metadata?.name)).toContain('imgroup-operator-metrics');
  });

  it('renders the metrics Service by default and no dashboard ConfigMap', async () => {
    const objects = await renderChart();
    expect(one(objects, 'Service', 'imgroup-operator-metrics').spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'metrics', port: 9090, targetPort: 'ops' }] });
    expect(ofKind(objects, 'ConfigMap').filter((c) => c.metadata?.labels?.grafana_dashboard)).toEqual([]);
  });
});

describe('with the Prometheus Operator API', () => {
  it('renders nothing of it by default (each object is asked for)', async () => {
    const objects = await renderChart({ apiVersions: MONITORING_API });
    expect(objects.filter((o) => MONITORING_KINDS.includes(o.kind ?? ''))).toEqual([]);
  });

  it('the ServiceMonitor scrapes the operator pods through the metrics Service, as job imgroup-operator', async () => {
    const objects = await renderChart({ apiVersions: MONITORING_API, values: ALL_ON });
    const sm = one(objects, 'ServiceMonitor');
    const svc = one(objects, 'Service', 'imgroup-operator-metrics') as Obj & V1Service;
    expect(sm.metadata?.namespace).toBe('imgroup-system');
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['imgroup-system'] });
    expect(selects(sm.spec.selector.matchLabels, svc.metadata?.labels)).toBe(true);
    expect(sm.spec.selector.matchLabels['app.kubernetes.io/component']).toBe('operator');
    expect(svc.spec?.selector).toMatchObject({ 'app.kubernetes.io/component': 'operator', 'app.kubernetes.io/instance': 'imgroup' });
    const [endpoint] = sm.spec.endpoints;
    expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics', honorLabels: false });
    expect(endpoint.relabelings[0]).toEqual({ action: 'replace', targetLabel: 'job', replacement: 'imgroup-operator' });
    // Every other Service of the operator that the selector would also match has no `metrics` port.
    const others = ofKind(objects, 'Service').filter((s) => s !== svc && selects(sm.spec.selector.matchLabels, s.metadata?.labels));
    expect(others.filter((s) => (s as V1Service).spec?.ports?.some((p) => p.name === 'metrics'))).toEqual([]);
  });

  it('the PodMonitors select exactly the gate and logic pods the operator creates, on their ops port', async () => {
    const objects = await renderChart({ apiVersions: MONITORING_API, values: ALL_ON });
    const desired = desiredState(cluster(), { logicPods: [] }).objects.filter((o): o is V1StatefulSet => o.kind === 'StatefulSet');
    for (const component of ['gate', 'logic', 'redis']) {
      const sts = desired.find((s) => s.metadata?.labels?.['app.kubernetes.io/component'] === component)!;
      const podLabels = sts.spec?.template.metadata?.labels;
      const selecting = ofKind(objects, 'PodMonitor').filter((pm) => selects(pm.spec.selector.matchLabels, podLabels));
      if (component === 'redis') {
        expect(selecting, 'Redis pods are not scraped (no imgroup metrics)').toEqual([]);
        continue;
      }
      expect(selecting.map((pm) => pm.metadata?.name)).toEqual([`imgroup-${component}`]);
      const pm = selecting[0]!;
      const [endpoint] = pm.spec.podMetricsEndpoints;
      const ports = sts.spec?.template.spec?.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
      expect(ports).toContain(endpoint.port);
      expect(endpoint).toMatchObject({ port: 'ops', path: '/metrics' });
      expect(endpoint.relabelings.slice(0, 2)).toEqual([
        { action: 'replace', targetLabel: 'job', replacement: `imgroup-${component}` },
        { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'], targetLabel: 'imgroup_cluster' },
      ]);
      // The pod label the relabeling reads is the ImGroupCluster's name.
      expect(podLabels?.['app.kubernetes.io/instance']).toBe(cluster().metadata.name);
      expect(pm.spec.namespaceSelector).toEqual({ any: true });
    }
    // The operator's own pods (the chart's Deployment) are not gate or logic pods.
    const operatorPods = { 'app.kubernetes.io/name': 'imgroup', 'app.kubernetes.io/instance': 'imgroup', 'app.kubernetes.io/component': 'operator' };
    expect(ofKind(objects, 'PodMonitor').filter((pm) => selects(pm.spec.selector.matchLabels, operatorPods))).toEqual([]);
  });

  it('the PodMonitors follow watchNamespace, and monitoring.podMonitors.namespaces wins', async () => {
    const namespaced = await renderChart({ apiVersions: MONITORING_API, values: { ...ALL_ON, watchNamespace: 'chat' } });
    for (const pm of ofKind(namespaced, 'PodMonitor')) expect(pm.spec.namespaceSelector).toEqual({ matchNames: ['chat'] });
    const listed = await renderChart({ apiVersions: MONITORING_API, values: { ...ALL_ON, watchNamespace: 'chat', monitoring: { ...ALL_ON.monitoring, podMonitors: { enabled: true, namespaces: ['a', 'b'] } } } });
    for (const pm of ofKind(listed, 'PodMonitor')) expect(pm.spec.namespaceSelector).toEqual({ matchNames: ['a', 'b'] });
  });

  it('takes labels, interval, timeout and relabelings as kube-prometheus-stack users set them (the chart\'s relabelings first)', async () => {
    const extra = { action: 'replace', targetLabel: 'team', replacement: 'chat' };
    const drop = { action: 'drop', sourceLabels: ['__name__'], regex: 'nodejs_gc_.*' };
    const knobs = { labels: { release: 'kps' }, interval: '15s', scrapeTimeout: '10s', relabelings: [extra], metricRelabelings: [drop] };
    const objects = await renderChart({
      apiVersions: MONITORING_API,
      values: { monitoring: { serviceMonitor: { enabled: true, ...knobs }, podMonitors: { enabled: true, ...knobs }, prometheusRule: { enabled: true, labels: { release: 'kps' } } } },
    });
    const endpoints = [...ofKind(objects, 'ServiceMonitor').map((o) => o.spec.endpoints[0]), ...ofKind(objects, 'PodMonitor').map((o) => o.spec.podMetricsEndpoints[0])];
    expect(endpoints).toHaveLength(3);
    for (const e of endpoints) {
      expect(e).toMatchObject({ interval: '15s', scrapeTimeout: '10s', metricRelabelings: [drop] });
      expect(e.relabelings.at(-1)).toEqual(extra);
      expect(e.relabelings[0].targetLabel).toBe('job');
    }
    for (const kind of MONITORING_KINDS) for (const o of ofKind(objects, kind)) expect(o.metadata?.labels?.release, kind).toBe('kps');
  });

  it('the PrometheusRule holds the rule file unchanged', async () => {
    const rule = one(await renderChart({ apiVersions: MONITORING_API, values: ALL_ON }), 'PrometheusRule');
    expect(rule.spec).toEqual({ groups: loadRuleGroups() });
    // Prometheus's templates reach it as written, not rendered by Helm.
    expect(JSON.stringify(rule.spec)).toContain('{{ $labels.cluster }}');
  });

  it('refuses a ServiceMonitor without the metrics Service it scrapes', async () => {
    const r = await helmTemplate({ apiVersions: MONITORING_API, values: { monitoring: { serviceMonitor: { enabled: true }, metricsService: { enabled: false } } } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('monitoring.serviceMonitor.enabled needs monitoring.metricsService.enabled');
  });
});

describe('the dashboard ConfigMap', () => {
  it('carries the sidecar label, the folder annotation and the dashboard file, with its data source variable', async () => {
    const cm = one(await renderChart({ values: { dashboards: { enabled: true } } }), 'ConfigMap', 'imgroup-dashboards');
    expect(cm.metadata?.namespace).toBe('imgroup-system');
    expect(cm.metadata?.labels).toMatchObject({ grafana_dashboard: '1', 'app.kubernetes.io/instance': 'imgroup' });
    expect(cm.metadata?.annotations).toEqual({ grafana_folder: 'imgroup' });
    const shipped = cm.data?.['imgroup-presence-load.json'] ?? '';
    expect(shipped).toBe(readFileSync(DASHBOARD_FILE, 'utf8').replace(/\n$/, ''));
    const dashboard = JSON.parse(shipped) as { templating: { list: Array<{ name: string; type: string; query: string }> } };
    expect(dashboard.templating.list.find((v) => v.type === 'datasource')).toMatchObject({ name: 'datasource', query: 'prometheus' });
  });

  it('takes the label, its value, the folder, its annotation and the namespace from the values', async () => {
    const cm = one(
      await renderChart({ values: { dashboards: { enabled: true, namespace: 'monitoring', label: 'grafana.io/dashboard', labelValue: 'yes', folder: 'Chat', folderAnnotation: 'k8s-sidecar-target-directory' } } }),
      'ConfigMap',
      'imgroup-dashboards',
    );
    expect(cm.metadata?.namespace).toBe('monitoring');
    expect(cm.metadata?.labels).toMatchObject({ 'grafana.io/dashboard': 'yes' });
    expect(cm.metadata?.labels?.grafana_dashboard).toBeUndefined();
    expect(cm.metadata?.annotations).toEqual({ 'k8s-sidecar-target-directory': 'Chat' });
    const noFolder = one(await renderChart({ values: { dashboards: { enabled: true, folder: '' } } }), 'ConfigMap', 'imgroup-dashboards');
    expect(noFolder.metadata?.annotations).toBeUndefined();
  });
});

describe('values.schema.json on the monitoring values', () => {
  it.each([
    ['an unknown key', { monitoring: { serviceMonitor: { enabeld: true } } }, /enabeld/],
    ['a wrong type', { monitoring: { podMonitors: { enabled: 'yes' } } }, /enabled/],
    ['a duration that is not one', { monitoring: { serviceMonitor: { interval: '30 seconds' } } }, /interval/],
    ['an unknown relabel field', { monitoring: { podMonitors: { relabelings: [{ target_label: 'x' }] } } }, /target_label/],
    ['a port out of range', { monitoring: { metricsService: { port: 70000 } } }, /port/],
    ['an unknown dashboards key', { dashboards: { enable: true } }, /enable/],
    ['a label value that is not one', { dashboards: { labelValue: 'a b' } }, /labelValue/],
  ])('rejects %s', async (_case, values, message) => {
    const r = await helmTemplate({ values });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});
