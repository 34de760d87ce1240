/**
 * deploy/**.yaml: every document validated against the Kubernetes OpenAPI schema (the JSON
 * schemas compiled into the kubernetes-models package), then the things the schema cannot know:
 * probes on the service's routes, resource limits, the GPU request, selectors that match, the
 * HPA targets, and env names the service actually reads.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { ConfigSchema } from '../../src/config.js';

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/Secret': Secret,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : /\.ya?ml$/.test(n) ? [join(dir, n)] : []));
}

const docs = walk('deploy').flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], `${file}: YAML errors`);
    return { file, obj: d.toJS() as any };
  }),
);
const byKind = (kind: string) => docs.filter((d) => d.obj.kind === kind);
const deployments = byKind('Deployment');

function validate(obj: unknown): string | null {
  const o = obj as { apiVersion: string; kind: string };
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!Model) return `no schema for ${o.apiVersion} ${o.kind}`;
  try {
    new Model(obj).validate();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

describe('Kubernetes manifests', () => {
  test('every document is valid against the Kubernetes schema', () => {
    assert.ok(docs.length >= 7, `${docs.length} documents`);
    for (const d of docs) assert.equal(validate(d.obj), null, `${d.file}: ${d.obj.kind} ${d.obj.metadata?.name}`);
  });

  test('the validator does reject a broken manifest (the check has teeth)', () => {
    const bad = structuredClone(deployments[0].obj);
    bad.spec.replicas = 'two';
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    delete bad.spec.selector;
    const msg = validate(bad);
    assert.ok(msg && /replicas/.test(msg) && /containerPort/.test(msg) && /selector/.test(msg), String(msg));
  });

  test('a CPU and a GPU Deployment: probes, limits, selectors, graceful termination, env the service reads', () => {
    const names = new Set(Object.keys(ConfigSchema.shape));
    const variants = deployments.map((d) => d.obj.metadata.labels['app.kubernetes.io/component']).sort();
    assert.deepEqual(variants, ['cpu', 'gpu']);
    for (const { file, obj } of deployments) {
      const spec = obj.spec;
      const labels = spec.template.metadata.labels;
      for (const [k, v] of Object.entries(spec.selector.matchLabels)) assert.equal(labels[k], v, `${file}: selector matches the pod labels`);
      const c = spec.template.spec.containers[0];
      const port = c.ports.find((p: any) => p.name === 'http');
      assert.equal(port.containerPort, 8080);
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      assert.equal(c.startupProbe.httpGet.path, '/healthz');
      for (const r of ['cpu', 'memory']) {
        assert.ok(c.resources.requests[r], `${file}: ${r} request`);
        assert.ok(c.resources.limits[r], `${file}: ${r} limit`);
      }
      assert.equal(spec.template.spec.securityContext.runAsNonRoot, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
      for (const n of Object.keys(env)) assert.ok(names.has(n), `${file}: env ${n} is a config variable of the service`);
      // the grace period covers preStop + the drain deadline + closing
      const preStop = Number(c.lifecycle.preStop.exec.command.at(-1));
      assert.ok(spec.template.spec.terminationGracePeriodSeconds >= preStop + Number(env.SHUTDOWN_DRAIN_MS) / 1000 + 5, `${file}: grace period`);
      assert.equal(Number(env.ENGINE_WORKERS) * Number(env.INTRA_OP_THREADS), Number(c.resources.limits.cpu), `${file}: sessions × intra-op threads = cores of the limit`);
      const gpu = obj.metadata.labels['app.kubernetes.io/component'] === 'gpu';
      assert.equal(c.resources.limits['nvidia.com/gpu'], gpu ? 1 : undefined, `${file}: GPU request only on the GPU variant`);
      assert.equal(env.EXECUTION_PROVIDERS, gpu ? 'cuda,cpu' : 'cpu');
      assert.match(c.image, gpu ? /:cuda$/ : /:cpu$/);
    }
  });

  test('the Service selects both variants on the named port; HPAs target the CPU Deployment (CPU and queue-depth)', () => {
    const [svc] = byKind('Service').map((d) => d.obj);
    for (const d of deployments) for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(d.obj.spec.template.metadata.labels[k], v);
    assert.equal(svc.spec.ports[0].targetPort, 'http');
    const hpas = byKind('HorizontalPodAutoscaler').map((d) => d.obj);
    const cpuName = deployments.find((d) => d.obj.metadata.labels['app.kubernetes.io/component'] === 'cpu')!.obj.metadata.name;
    for (const h of hpas) {
      assert.equal(h.spec.scaleTargetRef.kind, 'Deployment');
      assert.equal(h.spec.scaleTargetRef.name, cpuName);
      assert.ok(h.spec.minReplicas >= 2 && h.spec.maxReplicas > h.spec.minReplicas);
    }
    const metrics = hpas.flatMap((h) => h.spec.metrics);
    assert.ok(metrics.some((m) => m.type === 'Resource' && m.resource.name === 'cpu'));
    assert.ok(metrics.some((m) => m.type === 'Pods' && m.pods.metric.name === 'jfdl_queue_depth'), 'custom-metric variant on the queue depth gauge');
    // the queue-depth gauge the variant scales on is one the service exports
    assert.match(readFileSync('src/plugins/metrics.ts', 'utf8'), /name: 'jfdl_queue_depth'/);
  });
});
