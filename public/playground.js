// The playground page: plain ES module, no build step. Talks to the same public API as any client
// (GET /v1/models, POST /v1/generate/stream for one image with its progress, POST /v1/generate for
// the sweep) and shows the service's own error messages.

const $ = (id) => document.getElementById(id);
const DISPLAY_PX = 192; // server-side nearest-neighbour scale targets about this width
const SHOW_PX = 256; // the single image is shown this wide (CSS, pixelated)
const SWEEP_POINTS = [0, 0.5, 1, 1.25, 1.5, 2, 3];
// above this many classes a list is unusable: the class is typed, with the names as suggestions
const MANY_CLASSES = 32;

const state = { models: [], model: null, busy: 0, generation: 0 };

function showError(err) {
  const box = $('error');
  if (!err) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  box.hidden = false;
  box.textContent = err.field ? `${err.message} (field: ${err.field})` : err.message;
}

function setBusy(delta) {
  state.busy += delta;
  document.body.classList.toggle('busy', state.busy > 0);
}

/** Request headers: JSON, plus the API key when one is entered (kept for this tab only). */
function headers(json) {
  const h = json ? { 'content-type': 'application/json' } : {};
  const key = $('api-key').value.trim();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

/** The error body of a failed answer, or a readable stand-in. */
async function failure(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    /* not JSON */
  }
  if (res.status === 401) $('advanced').open = true; // where the API key goes
  return body && body.message ? body : { message: `HTTP ${res.status} ${res.statusText}` };
}

/**
 * POST /v1/generate/stream: the answer is server-sent events — `progress` {done, total} after every
 * network call that advanced the request, then `result` (the POST /v1/generate body) or `error`.
 */
async function generateStream(body, onProgress) {
  let res;
  try {
    res = await fetch('/v1/generate/stream', { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
  } catch (e) {
    throw { message: `cannot reach the service (${e.message})` };
  }
  if (!res.ok) throw await failure(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let outcome = null;
  for (;;) {
    const { value, done } = await reader.read();
    // the body is read to its end (the service closes it after the last event): a stream left
    // open would be aborted by the next navigation
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null');
      if (event === 'progress') onProgress(data);
      else if (event === 'result' || event === 'error') outcome = { event, data };
    }
  }
  if (outcome?.event === 'result') return outcome.data;
  throw outcome?.data ?? { message: 'the stream ended without a result' };
}

async function api(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { ...init, headers: headers(init.method === 'POST') });
  } catch (e) {
    throw { message: `cannot reach the service (${e.message})` };
  }
  if (!res.ok) throw await failure(res);
  return res.json();
}

function fmt(x, digits = 2) {
  return Number(x).toFixed(digits);
}

/** Nearest-neighbour upscale the server applies so the image is crisp at DISPLAY_PX. */
function scaleFor(m) {
  return Math.max(1, Math.min(8, Math.round(DISPLAY_PX / m.image.width)));
}

function selectedModel() {
  return state.models.find((m) => m.name === $('model').value) ?? null;
}

function fillModel() {
  const m = selectedModel();
  state.model = m;
  if (!m) return;
  const cls = $('class');
  const prev = cls.value;
  const many = m.classes.length > MANY_CLASSES;
  cls.hidden = many;
  $('class-search').hidden = !many;
  $('class-note').hidden = !many;
  if (many) {
    // type to search: the browser filters the names as they are typed; an index works too
    $('class-list').replaceChildren(...m.classes.map((name, i) => new Option(`${i}`, name)));
    const search = $('class-search');
    if (!m.classes.includes(search.value)) search.value = m.classes[0];
    $('class-note').textContent = `${m.classes.length} classes: type part of a name (or an index 0–${m.classes.length - 1})`;
    cls.replaceChildren();
  } else {
    cls.replaceChildren(...m.classes.map((name, i) => new Option(m.classes.length > 10 ? `${i}: ${name}` : name, String(i))));
    cls.value = prev && Number(prev) < m.classes.length ? prev : '0';
  }

  const g = m.guidance;
  const slider = $('guidance');
  slider.min = String(g.min);
  slider.max = String(g.max);
  slider.step = g.max - g.min > 2 ? '0.05' : '0.01';
  slider.value = String(g.default);
  slider.disabled = !m.guided;
  $('sweep-button').disabled = !m.guided;
  $('guidance-note').textContent = m.guided
    ? `range ${g.min}–${g.max}, default ${g.default}; values a little above 1 help a consistency model, large ones over-saturate`
    : 'plain consistency model: no guidance embedding, so guidance is fixed at 1 (pick the JFDL graph to guide)';
  updateGuidanceLabel();

  const steps = $('steps');
  const prevSteps = steps.value;
  steps.replaceChildren(...Array.from({ length: m.max_steps }, (_, i) => new Option(String(i + 1), String(i + 1))));
  steps.value = prevSteps && Number(prevSteps) <= m.max_steps ? prevSteps : String(m.default_steps);
  $('sampler').value = m.default_sampler;

  const px = `${m.image.channels}×${m.image.height}×${m.image.width}`;
  $('model-note').textContent = `${m.kind === 'jfdl' ? 'JFDL (guided)' : 'CM'} · ${px} · ${m.classes.length} classes · ${m.execution_provider ?? '?'}${m.description ? ' — ' + m.description : ''}`;
}

function updateGuidanceLabel() {
  $('guidance-value').value = fmt($('guidance').value);
}

function parseSeed() {
  const raw = $('seed').value.trim();
  if (raw === '') return undefined;
  const n = Number(raw);
  // anything that is not a number is sent as-is, so the service's validation message is shown
  return Number.isFinite(n) ? n : raw;
}

function parseSigmas() {
  const raw = $('sigmas').value.trim();
  if (!raw) return undefined;
  return raw.split(/[\s,]+/).filter(Boolean).map((s) => (Number.isFinite(Number(s)) ? Number(s) : s));
}

/**
 * The class to send: the index chosen in the list or, for a model with many classes, the typed
 * text — an exact name (any case), an index, or the one name that contains it; anything else is
 * sent as typed, so the service's own message says what is wrong.
 */
function chosenClass(m) {
  if (m.classes.length <= MANY_CLASSES) return Number($('class').value);
  const raw = $('class-search').value.trim();
  if (/^\d+$/.test(raw)) return Number(raw);
  const lower = raw.toLowerCase();
  const exact = m.classes.findIndex((c) => c.toLowerCase() === lower);
  if (exact >= 0) return exact;
  const some = m.classes.flatMap((c, i) => (c.toLowerCase().includes(lower) ? [i] : []));
  return some.length === 1 ? some[0] : raw;
}

function requestBody(overrides = {}) {
  const m = state.model;
  const body = {
    model: m.name,
    class: chosenClass(m),
    sampler: $('sampler').value,
    scale: scaleFor(m),
    format: 'png',
  };
  if (m.guided) body.guidance = Number($('guidance').value);
  const sigmas = parseSigmas();
  if (sigmas) body.sigmas = sigmas;
  else body.steps = Number($('steps').value);
  const seed = parseSeed();
  if (seed !== undefined) body.seed = seed;
  return { ...body, ...overrides };
}

async function generate() {
  if (!state.model) return;
  const gen = ++state.generation;
  showError(null);
  setBusy(1);
  const box = $('progress-box');
  try {
    const body = requestBody();
    const r = await generateStream(body, ({ done, total }) => {
      if (gen !== state.generation) return;
      // a model that takes seconds per step shows where it is; a fast one finishes before this shows
      const steps = body.sigmas ? body.sigmas.length : body.steps;
      $('progress').max = total;
      $('progress').value = done;
      $('progress-text').textContent = `step ${Math.min(steps, done + 1)} of ${steps}${done > 0 ? ` (${done} done)` : ''}`;
      box.dataset.done = String(done);
      box.hidden = false;
    });
    if (gen !== state.generation) return; // a newer request (slider moved again) wins
    if ($('seed').value.trim() === '') $('seed').value = String(r.seed);
    const img = $('image');
    img.src = `data:${r.images[0].mime};base64,${r.images[0].b64}`;
    img.style.width = `${Math.max(SHOW_PX, state.model.image.width * body.scale)}px`;
    img.dataset.guidance = String(r.params.guidance);
    img.dataset.seed = String(r.seed);
    // with many classes the index helps find the name again; with a few it only repeats the list
    const index = state.model.classes.length > MANY_CLASSES ? ` (${r.params.class})` : '';
    $('caption').textContent = `${state.model.classes[r.params.class]}${index} · w = ${fmt(r.params.guidance)} · ${r.params.steps} step${r.params.steps > 1 ? 's' : ''} (${r.params.sampler}) · seed ${r.seed}`;
    $('single').hidden = false;
    $('placeholder').hidden = true;
    const t = r.timings_ms;
    const dl = $('timings');
    dl.replaceChildren(
      ...[
        ['queue', t.queue],
        ['compute', t.compute],
        ['encode', t.encode],
        ['total', t.total],
      ].flatMap(([k, v]) => {
        const dt = document.createElement('dt');
        dt.textContent = k;
        const dd = document.createElement('dd');
        dd.textContent = `${fmt(v, 1)} ms`;
        return [dt, dd];
      }),
    );
    const sig = document.createElement('dd');
    sig.className = 'wide';
    sig.textContent = `σ = [${r.params.sigmas.map((s) => +s.toPrecision(4)).join(', ')}]`;
    dl.append(sig);
    dl.hidden = false;
  } catch (e) {
    if (gen === state.generation) showError(e);
  } finally {
    if (gen === state.generation) box.hidden = true;
    setBusy(-1);
  }
}

function sweepValues(g) {
  const vals = SWEEP_POINTS.filter((w) => w >= g.min && w <= g.max);
  if (!vals.includes(g.default)) vals.push(g.default);
  return vals.sort((a, b) => a - b);
}

async function sweep() {
  const m = state.model;
  if (!m || !m.guided) return;
  showError(null);
  const seed = parseSeed();
  const base = requestBody(seed === undefined ? { seed: Math.floor(Math.random() * 2 ** 32) } : {});
  if (seed === undefined) $('seed').value = String(base.seed);
  const values = sweepValues(m.guidance);
  const row = $('sweep');
  row.replaceChildren();
  $('sweep-section').hidden = false;
  $('sweep-info').textContent = `${m.name} · class ${m.classes[base.class] ?? base.class} · seed ${base.seed} · ${base.sigmas ? base.sigmas.length : base.steps} step(s), ${base.sampler}`;
  const cells = values.map((w) => {
    const fig = document.createElement('figure');
    fig.className = 'cell loading';
    if (w === 1) fig.classList.add('plain');
    if (w === m.guidance.default) fig.classList.add('default');
    const img = document.createElement('img');
    img.alt = `w = ${w}`;
    img.dataset.guidance = String(w);
    const cap = document.createElement('figcaption');
    cap.textContent = `w = ${fmt(w)}${w === 1 ? ' (plain)' : ''}${w === 0 ? ' (uncond.)' : ''}${w === m.guidance.default ? ' (default)' : ''}`;
    fig.append(img, cap);
    row.append(fig);
    return { w, fig, img, cap };
  });
  setBusy(1);
  // all at once: the service batches them into shared network calls
  const results = await Promise.allSettled(
    cells.map(({ w }) => api('/v1/generate', { method: 'POST', body: JSON.stringify({ ...base, guidance: w }) })),
  );
  setBusy(-1);
  results.forEach((r, i) => {
    const c = cells[i];
    c.fig.classList.remove('loading');
    if (r.status === 'fulfilled') {
      c.img.src = `data:${r.value.images[0].mime};base64,${r.value.images[0].b64}`;
      c.img.title = `compute ${fmt(r.value.timings_ms.compute, 1)} ms`;
    } else {
      c.fig.classList.add('failed');
      c.cap.textContent = `w = ${fmt(c.w)}: ${r.reason.message}`;
    }
  });
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) showError(failed.reason);
  $('sweep-section').dataset.done = String(Date.now());
}

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadModels, 2000);
}

async function loadModels() {
  clearTimeout(reloadTimer);
  try {
    const { models } = await api('/v1/models');
    state.models = models.filter((m) => m.status === 'ready');
    const sel = $('model');
    const prev = sel.value;
    sel.replaceChildren(
      ...models.map((m) => {
        const o = new Option(`${m.name} — ${m.status !== 'ready' ? m.status : m.guided ? 'JFDL, guided' : 'CM, unguided'}`, m.name);
        o.disabled = m.status !== 'ready';
        return o;
      }),
    );
    const pick = state.models.find((m) => m.name === prev) ?? state.models.find((m) => m.guided) ?? state.models[0];
    if (pick) {
      sel.value = pick.name;
      fillModel();
      showError(null);
    } else {
      showError({ message: models.length ? 'no model is ready yet; retrying…' : 'the service serves no models (check MODELS_DIR)' });
    }
    if (models.some((m) => m.status === 'loading') || !pick) scheduleReload();
    document.body.dataset.ready = pick ? 'true' : 'false';
  } catch (e) {
    showError(e);
    scheduleReload();
  }
}

let sliderTimer = null;
function onSlider() {
  updateGuidanceLabel();
  // turning the knob regenerates the current image (debounced) once there is one
  if ($('single').hidden) return;
  clearTimeout(sliderTimer);
  sliderTimer = setTimeout(generate, 120);
}

window.addEventListener('DOMContentLoaded', () => {
  $('model').addEventListener('change', () => {
    fillModel();
    if (!$('single').hidden) generate();
  });
  $('guidance').addEventListener('input', onSlider);
  $('new-seed').addEventListener('click', () => {
    $('seed').value = String(Math.floor(Math.random() * 2 ** 32));
    if (!$('single').hidden) generate();
  });
  $('controls').addEventListener('submit', (e) => {
    e.preventDefault();
    generate();
  });
  $('sweep-button').addEventListener('click', sweep);
  $('api-key').value = sessionStorage.getItem('jfdl-api-key') ?? '';
  $('api-key').addEventListener('change', () => {
    sessionStorage.setItem('jfdl-api-key', $('api-key').value.trim());
    loadModels();
  });
  loadModels();
});
