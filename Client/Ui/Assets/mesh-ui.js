// mesh ui: reads /api/view every few seconds and redraws; no framework, no external assets.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
const PALETTE = ['#1e88e5', '#e53935', '#43a047', '#fb8c00', '#8e24aa', '#00897b', '#6d4c41', '#3949ab', '#c0ca33', '#d81b60'];
let intervalMs = 2000;

function el(tag, attrs, text) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const count = n => (n === null || n === undefined) ? '?' : Number(n).toLocaleString('en-US');
const rate = r => (r === null || r === undefined) ? '–' : (r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en-US'));
const ms = v => (v === null || v === undefined) ? '–' : `${Math.round(v).toLocaleString('en-US')} ms`;

function badge(state) { return el('span', { class: 'badge', 'data-state': state }, state); }

function cell(text, attrs) { return el('td', attrs, text); }

function numberCell(field, value, text) {
  return el('td', { class: 'num', 'data-field': field, 'data-value': value === null || value === undefined ? '' : String(value) }, text ?? count(value));
}

async function poll() {
  try {
    const response = await fetch('/api/view', { cache: 'no-store', credentials: 'same-origin' });
    if (response.status === 401) { showProblem('this page needs its token: open it with ?token=<token>'); return; }
    if (response.status === 503) { showProblem(null); setFreshness(null); return; }
    if (!response.ok) { showProblem(`the page's server answered ${response.status}`); return; }
    const view = await response.json();
    intervalMs = (view.intervalSeconds || 2) * 1000;
    render(view);
  } catch (e) {
    showProblem(`the page's server does not answer (${e.message}); showing the last status it sent`);
    document.getElementById('freshness').classList.add('stale');
  } finally {
    setTimeout(poll, intervalMs);
  }
}

function showProblem(text) {
  const box = document.getElementById('problem');
  box.hidden = !text;
  box.textContent = text || '';
}

function setFreshness(view) {
  const node = document.getElementById('freshness');
  if (!view || !view.collectedAt) { node.textContent = 'waiting for the first status…'; return; }
  const at = new Date(view.collectedAt);
  const age = (Date.now() - at.getTime()) / 1000;
  node.dataset.collected = view.collectedAt;
  node.textContent = `status of ${at.toLocaleTimeString()} (read in ${view.collectionMs} ms from ${view.source})`;
  node.classList.toggle('stale', age > 3 * (view.intervalSeconds || 2) + 5);
}

function render(view) {
  showProblem(view.pollError ? `reading the status failed at ${new Date(view.pollErrorAt).toLocaleTimeString()}: ${view.pollError}` : null);
  setFreshness(view);
  const topology = document.getElementById('topology');
  topology.dataset.version = view.newestTopologyVersion ?? '';
  const named = (view.regions.find(r => r.topologyName) || {}).topologyName;
  topology.textContent = `topology: ${view.newestTopologyVersion ? `v${view.newestTopologyVersion}` : 'none'}${named ? ` (${named})` : ''}`;
  drawGraph(view);
  fillRegions(view);
  fillLinks(view);
  drawCharts(view);
  document.getElementById('latency-note').textContent = view.notes.latency || '';
  document.getElementById('latency-head').textContent = view.hasPercentiles ? 'latency p50 / p99' : 'latest latency';
  document.getElementById('audit-note').textContent = view.notes.auditAndDrill || '';
}

function layout(regions) {
  const cx = 320, cy = 220, radius = regions.length <= 1 ? 0 : Math.min(165, 60 + 40 * regions.length);
  const at = {};
  regions.forEach((r, i) => {
    const angle = -Math.PI / 2 + 2 * Math.PI * i / regions.length;
    at[r.region] = { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
  });
  return at;
}

function drawGraph(view) {
  const svg = document.getElementById('graph');
  const nodeRadius = 42;
  const at = layout(view.regions);
  svg.replaceChildren();
  for (const link of view.links) {
    const a = at[link.source], b = at[link.destination];
    if (!a || !b) continue;
    const dx = b.x - a.x, dy = b.y - a.y, length = Math.hypot(dx, dy) || 1;
    const ux = dx / length, uy = dy / length, nx = -uy, ny = ux;
    // Two links between the same regions run side by side, each offset to its own right.
    const off = 9;
    const sx = a.x + ux * nodeRadius + nx * off, sy = a.y + uy * nodeRadius + ny * off;
    const ex = b.x - ux * (nodeRadius + 9) + nx * off, ey = b.y - uy * (nodeRadius + 9) + ny * off;
    const g = el('svg:g', { class: 'link', 'data-link': link.link, 'data-state': link.state });
    g.append(el('svg:title', {}, `${link.link}: ${link.state}${link.error ? `\n${link.error}` : ''}`));
    g.append(el('svg:path', { d: `M${sx.toFixed(1)},${sy.toFixed(1)} L${ex.toFixed(1)},${ey.toFixed(1)}` }));
    const tip = [ex + ux * 9, ey + uy * 9], left = [ex + nx * 5, ey + ny * 5], right = [ex - nx * 5, ey - ny * 5];
    g.append(el('svg:polygon', { points: [tip, left, right].map(p => p.map(v => v.toFixed(1)).join(',')).join(' ') }));
    const mx = (sx + ex) / 2 + nx * 14, my = (sy + ey) / 2 + ny * 14 + 4;
    const label = link.state === 'unknown' ? 'unknown' : `${rate(link.recordsPerSecond)}/s · lag ${count(link.lagRecords)}`;
    g.append(el('svg:text', { x: mx.toFixed(1), y: my.toFixed(1), 'data-field': 'label' }, label));
    svg.append(g);
  }
  for (const region of view.regions) {
    const p = at[region.region];
    const g = el('svg:g', { class: 'region', 'data-region': region.region, 'data-state': region.state, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})` });
    g.append(el('svg:title', {}, `${region.region}: ${region.state}${region.error ? `\n${region.error}` : ''}`));
    g.append(el('svg:circle', { r: nodeRadius }));
    g.append(el('svg:text', { class: 'name', y: -6 }, region.region));
    g.append(el('svg:text', { y: 10, 'data-field': 'state' }, region.state));
    if (region.silos > 0) g.append(el('svg:text', { y: 25 }, `silos ${region.silosUp}/${region.silos}`));
    svg.append(g);
  }
}

function fillRegions(view) {
  const body = document.querySelector('#regions tbody');
  body.replaceChildren(...view.regions.map(r => {
    const row = el('tr', { 'data-region-row': r.region, 'data-state': r.state });
    const topology = !r.reachable ? '?' : r.topologyVersion ? `v${r.topologyVersion} ${r.topologyName ?? ''}` : 'none';
    row.append(cell(r.region), el('td', {}), cell(r.kafka), cell(r.silos === 0 && !r.reachable ? 'not known' : `${r.silo} (${r.silosUp}/${r.silos})`), cell(topology),
      cell(r.topologyNote || r.error || '', { class: r.error ? 'error' : '' }));
    row.children[1].append(badge(r.state));
    return row;
  }));
}

function latency(topic) {
  if (topic.latencyP50Ms != null || topic.latencyP99Ms != null) return `${ms(topic.latencyP50Ms)} / ${ms(topic.latencyP99Ms)}`;
  return ms(topic.latestLatencyMs);
}

function fillLinks(view) {
  const rows = [];
  for (const link of view.links) {
    const name = `${link.source} → ${link.destination}${link.push ? ' (push)' : ''}`;
    if (link.topics.length === 0) {
      const row = el('tr', { 'data-link-row': link.link, 'data-state': link.state });
      row.append(cell(name), cell(''), el('td', {}), numberCell('replicated', link.recordsReplicated), numberCell('lag', link.lagRecords),
        cell('–'), numberCell('quarantined', link.recordsQuarantined), numberCell('expired', link.recordsExpiredBeforeReplication),
        cell(link.error || 'no topics found yet', { class: 'error' }));
      row.children[2].append(badge(link.state));
      rows.push(row);
      continue;
    }
    for (const topic of link.topics) {
      const row = el('tr', { 'data-link-row': link.link, 'data-topic': topic.topic, 'data-state': topic.state });
      const error = topic.error || link.error || '';
      const since = topic.waitingSince ? ` (since ${new Date(topic.waitingSince).toLocaleTimeString()})` : '';
      row.append(cell(name), cell(topic.topic), el('td', {}), numberCell('replicated', topic.recordsReplicated), numberCell('lag', topic.lagRecords),
        cell(latency(topic), { class: 'num' }), numberCell('quarantined', topic.recordsQuarantined), numberCell('expired', topic.recordsExpiredBeforeReplication),
        cell(error ? error + since : '', { class: 'error' }));
      row.children[2].append(badge(topic.state));
      rows.push(row);
    }
  }
  document.querySelector('#links tbody').replaceChildren(...rows);
}

function drawCharts(view) {
  const keys = Object.keys(view.history.links).sort();
  const color = key => PALETTE[keys.indexOf(key) % PALETTE.length];
  drawChart(document.getElementById('chart-rate'), view.history.at, keys, key => view.history.links[key].recordsPerSecond, color, v => rate(v));
  drawChart(document.getElementById('chart-lag'), view.history.at, keys, key => view.history.links[key].lagRecords, color, v => count(v));
  document.getElementById('chart-legend').replaceChildren(...keys.map(key => {
    const item = el('li', {});
    const swatch = el('span', {});
    // Through the CSSOM: the page's content security policy refuses inline style attributes.
    swatch.style.background = color(key);
    item.append(swatch, key);
    return item;
  }));
}

// 1, 2, 5 times a power of ten, at or above v: the chart's top reads as a round number.
function roundUp(v) {
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map(m => m * power).find(m => m >= v);
}

// One polyline per link over the kept history; a gap (no value) breaks the line.
function drawChart(svg, at, keys, values, color, format) {
  const width = 420, height = 150, left = 44, right = 8, top = 8, bottom = 18;
  svg.replaceChildren();
  if (at.length < 2) { svg.append(el('svg:text', { x: left, y: height / 2 }, 'collecting…')); return; }
  const first = at[0], last = at[at.length - 1];
  const all = keys.flatMap(k => values(k)).filter(v => v !== null && v !== undefined);
  const max = roundUp(Math.max(1, ...all) * 1.05);
  const x = t => left + (width - left - right) * (t - first) / Math.max(1, last - first);
  const y = v => height - bottom - (height - top - bottom) * v / max;
  svg.append(el('svg:line', { class: 'axis', x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
  svg.append(el('svg:line', { class: 'axis', x1: left, y1: top, x2: left, y2: height - bottom }));
  svg.append(el('svg:text', { x: 2, y: top + 8 }, format(max)));
  svg.append(el('svg:text', { x: 2, y: height - bottom }, '0'));
  svg.append(el('svg:text', { x: left, y: height - 4 }, `${Math.round((last - first) / 1000)} s ago`));
  svg.append(el('svg:text', { x: width - right - 22, y: height - 4 }, 'now'));
  for (const key of keys) {
    const series = values(key);
    let points = [];
    const flush = () => {
      if (points.length > 0) svg.append(el('svg:polyline', { points: points.join(' '), stroke: color(key), 'data-series': key }));
      points = [];
    };
    series.forEach((v, i) => {
      if (v === null || v === undefined) { flush(); return; }
      points.push(`${x(at[i]).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
  }
}

poll();
