// The engagement page (GET /engage/{token}): loads the linked Questionnaire (already translated by the server) from
// GET /api/engage/{token}, renders it with LHC-Forms, and POSTs the QuestionnaireResponse to
// /api/engage/{token}/response. The server is the judge of the answers: its 422 OperationOutcome is shown as is.
// Loaded with `defer` after zone.js, lhc-forms.js and lformsFHIR.min.js; no inline script anywhere (CSP 'self').
(function () {
  'use strict';

  var texts = JSON.parse(document.getElementById('engage-texts').textContent);
  var lang = document.documentElement.lang || 'en';
  var token = decodeURIComponent(window.location.pathname.split('/').filter(Boolean).pop() || '');
  var api = '/api/engage/' + encodeURIComponent(token);
  var status = document.getElementById('engage-status');
  var errors = document.getElementById('engage-errors');
  var form = document.getElementById('engage-form');
  var formRoot = document.getElementById('engage-lforms');
  var submit = document.getElementById('engage-submit');
  var done = document.getElementById('engage-done');
  var context = null;

  function say(text) { status.textContent = text; }

  function element(tag, className, text) {
    var e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  // Item texts by linkId, from the (translated) Questionnaire, to name the questions an error is about.
  function itemTexts(items, map) {
    (items || []).forEach(function (item) {
      if (item.linkId && item.text) { map[item.linkId] = item.text; }
      itemTexts(item.item, map);
    });
    return map;
  }

  function showErrors(heading, issues) {
    errors.textContent = '';
    errors.appendChild(element('p', 'engage-errors-heading', heading));
    if (issues && issues.length) {
      var names = itemTexts(context && context.resource && context.resource.item, {});
      var list = element('ul');
      issues.forEach(function (issue) {
        var message = (issue.details && issue.details.text) || issue.diagnostics || '';
        var quoted = /'([^']+)'/.exec(message);
        var li = element('li');
        if (quoted && names[quoted[1]]) {
          li.appendChild(element('strong', null, names[quoted[1]]));
          li.appendChild(document.createTextNode(' — '));
        }
        li.appendChild(document.createTextNode(message));
        list.appendChild(li);
      });
      errors.appendChild(list);
    }
    errors.hidden = false;
    errors.focus();
  }

  function showDone(result) {
    var total = null, band = null, redFlags = 0;
    ((result && result.parameter) || []).forEach(function (p) {
      if (p.name === 'totalScore') { total = p.valueDecimal; }
      if (p.name === 'band') { band = p.valueString; }
      if (p.name === 'redFlags') { redFlags = p.valueInteger || 0; }
    });
    form.hidden = true;
    errors.hidden = true;
    done.textContent = '';
    done.appendChild(element('h2', null, texts.doneTitle));
    if (total !== null && total !== undefined) {
      done.appendChild(element('p', 'engage-score', texts.score.replace('{0}', String(total))));
      if (band && texts['band.' + band]) { done.appendChild(element('p', null, texts['band.' + band])); }
    }
    if (redFlags > 0) { done.appendChild(element('p', 'engage-urgent', texts.redFlags)); }
    done.appendChild(element('p', null, texts.doneBody));
    say('');
    done.hidden = false;
    done.focus();
  }

  function refused(statusCode, issues) {
    var used = (issues || []).some(function (i) { return /already used/.test(i.diagnostics || ''); });
    return statusCode === 401 ? texts.unauthorized : used ? texts.used : texts.gone;
  }

  function readOutcome(response) {
    return response.json().then(function (body) { return (body && body.issue) || []; }, function () { return []; });
  }

  function onSubmit(event) {
    event.preventDefault();
    if (submit.disabled) { return; }
    var response = LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', formRoot);
    // The link decides which Questionnaire this answers; the server checks it again.
    response.questionnaire = context.questionnaire;
    response.status = 'completed';
    submit.disabled = true;
    errors.hidden = true;
    say(texts.sending);
    fetch(api + '/response', {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json', 'Accept': 'application/fhir+json' },
      body: JSON.stringify(response),
      cache: 'no-store',
      credentials: 'omit'
    }).then(function (r) {
      if (r.status === 201) {
        return r.json().then(showDone);
      }
      return readOutcome(r).then(function (issues) {
        say('');
        if (r.status === 422 || r.status === 400 || r.status === 403) {
          submit.disabled = false;
          showErrors(texts.invalid, issues);
        } else if (r.status === 401 || r.status === 410) {
          form.hidden = true;
          showErrors(refused(r.status, issues), []);
        } else {
          submit.disabled = false;
          showErrors(texts.failed, []);
        }
      });
    }).catch(function () {
      submit.disabled = false;
      say('');
      showErrors(texts.failed, []);
    });
  }

  fetch(api + '?lang=' + encodeURIComponent(lang), { headers: { 'Accept': 'application/json' }, cache: 'no-store', credentials: 'omit' })
    .then(function (r) {
      if (!r.ok) {
        return readOutcome(r).then(function (issues) { say(''); showErrors(refused(r.status, issues), []); });
      }
      return r.json().then(function (body) {
        context = body;
        if (!body.resource) { throw new Error('no questionnaire'); }
        form.hidden = false;
        return LForms.Util.addFormToPage(body.resource, formRoot, { fhirVersion: 'R4' }).then(function () {
          say(texts.ready);
          form.addEventListener('submit', onSubmit);
          document.body.setAttribute('data-engage-ready', 'true');
        });
      });
    })
    .catch(function () {
      form.hidden = true;
      say('');
      showErrors(texts.loadFailed, []);
    });
})();
