// Engagement dashboard: asks for the admin key or a staff access token (a JWT from a staff SMART issuer) once per tab
// (sessionStorage), then draws the figures of
// GET /api/metrics/engagement. No inline script (strict CSP); chart.js is served from /dashboard/assets.
(function () {
  'use strict';
  var KEY = 'engagement.adminKey';
  var charts = {};
  var $ = function (id) { return document.getElementById(id); };

  function isoDay(d) { return d.toISOString().slice(0, 10); }
  function pct(v) { return v === null || v === undefined ? '–' : (Math.round(v * 1000) / 10).toFixed(1) + '%'; }
  function minutes(v) { return v === null || v === undefined ? '–' : '≤ ' + v + ' min'; }
  function set(metric, text) { document.querySelector('[data-metric="' + metric + '"]').textContent = String(text); }
  function measure(data, code) { return data.measures.filter(function (m) { return m.code === code; })[0]; }

  function showLogin(message) {
    $('login').hidden = false;
    $('content').hidden = true;
    $('status').textContent = message || '';
  }

  function cell(row, text) { var td = document.createElement('td'); td.textContent = String(text); row.appendChild(td); }

  function fillTable(id, rows, columns) {
    var body = $(id).querySelector('tbody');
    body.textContent = '';
    rows.forEach(function (r) {
      var tr = document.createElement('tr');
      columns.forEach(function (c) { cell(tr, c(r)); });
      body.appendChild(tr);
    });
  }

  function chart(id, config) {
    if (charts[id]) { charts[id].destroy(); }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } }, config.options || {});
    charts[id] = new window.Chart($(id), config);
  }

  function render(data) {
    var t = data.totals;
    var rr = measure(data, 'response-rate');
    var ft = measure(data, 'follow-through');
    set('requests', rr.denominator);
    set('responses', rr.numerator);
    set('response-rate', pct(rr.score));
    set('median-minutes', minutes(data.timeToRespond.medianMinutes));
    set('p90-minutes', minutes(data.timeToRespond.p90Minutes));
    set('messages-sent', t['message-sent']);
    set('messages-failed', measure(data, 'messages-failed').numerator);
    set('links-opened', measure(data, 'links-opened').numerator);
    set('reminders', t['reminder-sent']);
    set('follow-through', pct(ft.score));
    set('escalations', t['escalation-raised']);
    set('red-flags', t['red-flag-raised']);
    set('opt-outs', t['opt-out']);

    chart('responseRateChart', {
      type: 'line',
      data: { labels: data.daily.map(function (d) { return d.day; }), datasets: [{ label: 'Response rate', data: data.daily.map(function (d) { return d.responseRate; }), borderColor: '#2f6fde', tension: 0.2 }] },
      options: { scales: { y: { min: 0, max: 1 } } }
    });
    var edges = data.timeToRespond.edgesMinutes;
    chart('timeToRespondChart', {
      type: 'bar',
      data: { labels: data.timeToRespond.counts.map(function (_, i) { return i < edges.length ? '≤' + edges[i] : '>' + edges[edges.length - 1]; }), datasets: [{ label: 'Responses', data: data.timeToRespond.counts, backgroundColor: '#3ba272' }] }
    });
    chart('followThroughChart', {
      type: 'bar',
      data: { labels: data.followThrough.map(function (f) { return f.protocol; }), datasets: [{ label: 'On time', data: data.followThrough.map(function (f) { return f.rate; }), backgroundColor: '#e5a50a' }] },
      options: { indexAxis: 'y', scales: { x: { min: 0, max: 1 } } }
    });
    chart('scoreChart', {
      type: 'bar',
      data: { labels: data.scoreTrends.map(function (s) { return s.questionnaire.split('/').pop(); }), datasets: [{ label: 'Mean change', data: data.scoreTrends.map(function (s) { return s.meanChange; }), backgroundColor: '#8e44ad' }] }
    });

    fillTable('followThrough', data.followThrough, [function (f) { return f.protocol; }, function (f) { return f.due; }, function (f) { return f.onTime; }, function (f) { return pct(f.rate); }]);
    fillTable('openEscalations', data.openEscalations, [
      function (o) { return o.kind; }, function (o) { return o.protocol; }, function (o) { return o.raisedAt; },
      function (o) { return o.ageMinutes < 120 ? o.ageMinutes.toFixed(1) + ' min' : (o.ageMinutes / 60).toFixed(1) + ' h'; }, function (o) { return o.taskId; }]);
    fillTable('scoreTrends', data.scoreTrends, [
      function (s) { return s.questionnaire; }, function (s) { return s.patients; }, function (s) { return s.patientsWithRepeat; },
      function (s) { return s.meanChange === null ? '–' : s.meanChange; }, function (s) { return s.improved; }, function (s) { return s.worsened; }]);
    $('content').hidden = false;
    $('login').hidden = true;
    $('status').textContent = '';
    document.body.setAttribute('data-loaded', data.generatedAt);
  }

  function load() {
    var key = sessionStorage.getItem(KEY);
    if (!key) { showLogin(); return; }
    var params = new URLSearchParams({ periodStart: $('periodStart').value, periodEnd: $('periodEnd').value });
    if ($('protocol').value) { params.set('protocol', $('protocol').value); }
    // A JWT (three base64url parts) is a staff access token, sent as a bearer token; anything else is the admin key.
    var headers = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(key)
      ? { 'Authorization': 'Bearer ' + key, 'Accept': 'application/json' }
      : { 'X-Admin-Key': key, 'Accept': 'application/json' };
    fetch('/api/metrics/engagement?' + params.toString(), { headers: headers, cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) { sessionStorage.removeItem(KEY); showLogin('The key or token was not accepted.'); return null; }
        return response.json().then(function (body) {
          if (!response.ok) { throw new Error((body.issue && body.issue[0] && body.issue[0].diagnostics) || ('HTTP ' + response.status)); }
          return body;
        });
      })
      .then(function (body) { if (body) { render(body); } })
      .catch(function (e) { $('status').textContent = e.message; });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var params = new URLSearchParams(location.search);
    var today = new Date();
    $('periodEnd').value = params.get('periodEnd') || isoDay(today);
    $('periodStart').value = params.get('periodStart') || isoDay(new Date(today.getTime() - 29 * 86400000));
    $('protocol').value = params.get('protocol') || '';
    $('keyForm').addEventListener('submit', function (e) { e.preventDefault(); sessionStorage.setItem(KEY, $('adminKey').value); $('adminKey').value = ''; load(); });
    $('query').addEventListener('submit', function (e) { e.preventDefault(); load(); });
    $('signOut').addEventListener('click', function () { sessionStorage.removeItem(KEY); showLogin(); });
    load();
  });
}());
