/**
 * deploy/**.yaml: every document validated against the Kubernetes OpenAPI schema (the JSON
 * schemas compiled into the kubernetes-models package) — the KServe InferenceService against
 * schemas/kserve-inferenceservice.schema.json (the fields it uses) plus the Kubernetes PodSpec
 * schema for its pod — then the things the schema cannot know: probes on the service's routes,
 * resource limits, the GPU request, selectors that match, the HPA targets, env names the service
 * actually reads, and shutdown timing consistent with what the rolling restart measures.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { PodSpec, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { ConfigSchema } from '../../src/config.js';

/** KServe's fields: the project's minimal schema (no KServe schema is published on npm); its pod: the Kubernetes PodSpec. */
const KSERVE_FIELDS = new Set(['minReplicas', 'maxReplicas', 'scaleMetric', 'scaleTarget']);
const validateKServe = new Ajv({ allErrors: true }).compile(JSON.parse(readFileSync('schemas/kserve-inferenceservice.schema.json', 'utf8')));
class InferenceService {
  constructor(private data: any) {}
  validate(): void {
    const errors: string[] = [];
    if (!validateKServe(this.data)) for (const e of validateKServe.errors ?? []) errors.push(`${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? `: ${e.params.additionalProperty}` : ''}`);
    const pod = Object.fromEntries(Object.entries(this.data?.spec?.predictor ?? {}).filter(([k]) => !KSERVE_FIELDS.has(k)));
    try {
      new PodSpec(pod as any).validate();
    } catch (e) {
      errors.push(`spec.predictor (PodSpec): ${(e as Error).message}`);
    }
    if (errors.length) throw new Error(errors.join('; '));
  }
}

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'serving.kserve.io/v1beta1/InferenceService': InferenceService,
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
const cpuDeployment = () => deployments.find((d) => d.obj.metadata.labels['app.kubernetes.io/component'] === 'cpu')!.obj;
const envOf = (c: any): Record<string, any> => Object.fromEntries(c.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
// the service's shutdown after the drain (src/shutdown.ts): 503s until 150 ms without a request
// (≤ 1 s), then closing, bounded at 5 s
const AFTER_DRAIN_S = 1 + 5;
// the image's user (Dockerfile: USER uid:gid in both targets)
const IMAGE_USERS = [...readFileSync('Dockerfile', 'utf8').matchAll(/^USER (\d+):(\d+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]);

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
    assert.ok(docs.length >= 8, `${docs.length} documents`);
    for (const d of docs) assert.equal(validate(d.obj), null, `${d.file}: ${d.obj.kind} ${d.obj.metadata?.name}`);
  });

  test('the validator does reject a broken manifest (the check has teeth)', () => {
    const bad = structuredClone(deployments[0].obj);
    bad.spec.replicas = 'two';
    bad.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    delete bad.spec.selector;
    const msg = validate(bad);
    assert.ok(msg && /replicas/.test(msg) && /containerPort/.test(msg) && /selector/.test(msg), String(msg));
    // the InferenceService's two checks: KServe's fields, and its pod as a PodSpec
    const [isvc] = byKind('InferenceService').map((d) => d.obj);
    const badIsvc = structuredClone(isvc);
    badIsvc.spec.predictor.scaleMetric = 'gpu-magic';
    badIsvc.spec.predictor.minReplica = 2;
    badIsvc.spec.predictor.containers[0].ports[0].containerPort = 'http';
    const m2 = validate(badIsvc);
    assert.ok(m2 && /scaleMetric/.test(m2) && /minReplica\b/.test(m2) && /containerPort/.test(m2), String(m2));
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
      const sc = spec.template.spec.securityContext;
      assert.ok(IMAGE_USERS.length === 2 && IMAGE_USERS.every(([u, g]) => u === sc.runAsUser && g === sc.runAsGroup), `${file}: runs as the image's user ${JSON.stringify(IMAGE_USERS)}`);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      const env = envOf(c);
      for (const n of Object.keys(env)) assert.ok(names.has(n), `${file}: env ${n} is a config variable of the service`);
      // the grace period covers preStop + the drain deadline + the last 503s and closing
      const preStop = Number(c.lifecycle.preStop.exec.command.at(-1));
      assert.deepEqual(c.lifecycle.preStop.exec.command.slice(0, -1), ['sleep'], 'preStop sleeps (sleep is in the image: test/system/container.test.ts)');
      assert.ok(preStop >= 1, `${file}: a preStop pause, for the endpoint removal to reach the proxies`);
      assert.ok(spec.template.spec.terminationGracePeriodSeconds >= preStop + Number(env.SHUTDOWN_DRAIN_MS) / 1000 + AFTER_DRAIN_S, `${file}: grace period`);
      // a request accepted just before SIGTERM ends (200, or 504 at its deadline) within the drain
      assert.ok(Number(env.SHUTDOWN_DRAIN_MS) >= Number(env.REQUEST_DEADLINE_MS), `${file}: SHUTDOWN_DRAIN_MS ≥ REQUEST_DEADLINE_MS`);
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

  test('the KServe InferenceService runs the CPU Deployment\'s container, pod settings and scaling', () => {
    const isvcs = byKind('InferenceService').map((d) => d.obj);
    assert.equal(isvcs.length, 1);
    const isvc = isvcs[0];
    const p = isvc.spec.predictor;
    const dep = cpuDeployment();
    assert.equal(isvc.metadata.annotations['serving.kserve.io/deploymentMode'], 'RawDeployment', 'a plain Deployment: the same probes, preStop and grace period apply');
    const [c] = p.containers;
    assert.equal(p.containers.length, 1);
    assert.equal(c.name, 'kserve-container', "KServe's name for the serving container");
    // the same container apart from its name: image, env, probes, lifecycle, resources, security
    assert.deepEqual({ ...c, name: '' }, { ...dep.spec.template.spec.containers[0], name: '' });
    for (const k of ['terminationGracePeriodSeconds', 'automountServiceAccountToken', 'securityContext', 'volumes']) assert.deepEqual(p[k], dep.spec.template.spec[k], k);
    // KServe makes the HPA in raw mode: the same policy as deploy/cpu/hpa.yaml
    const hpa = byKind('HorizontalPodAutoscaler').find((d) => d.file.endsWith('cpu/hpa.yaml'))!.obj;
    assert.equal(p.minReplicas, hpa.spec.minReplicas);
    assert.equal(p.maxReplicas, hpa.spec.maxReplicas);
    assert.equal(p.scaleMetric, 'cpu');
    assert.equal(p.scaleTarget, hpa.spec.metrics[0].resource.target.averageUtilization);
  });
});
