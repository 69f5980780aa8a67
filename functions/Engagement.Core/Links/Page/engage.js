// The engagement page (GET /engage/{token}): loads the linked Questionnaire (already translated by the server) from
// GET /api/engage/{token}, renders it with LHC-Forms, and POSTs the QuestionnaireResponse to
// /api/engage/{token}/response. The server is the judge of the answers: its 422 OperationOutcome is shown as is.
// Below the form (or alone, once the link's response was sent: <main data-mode="answered">), "Your preferences"
// (GET/PUT /api/engage/{token}/preferences) and "Your follow-ups" (GET /api/engage/{token}/overview).
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
  var answered = document.getElementById('engage').getAttribute('data-mode') === 'answered';
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
    loadOverview();
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

  // ---- Your preferences -------------------------------------------------------------------------------------------
  var prefs = document.getElementById('engage-prefs');
  var prefsForm = document.getElementById('engage-prefs-form');
  var prefsErrors = document.getElementById('engage-prefs-errors');
  var prefsStatus = document.getElementById('engage-prefs-status');
  var prefsSave = document.getElementById('engage-prefs-save');
  var channels = document.getElementById('engage-pref-channels');
  var language = document.getElementById('engage-pref-language');
  var start = document.getElementById('engage-pref-start');
  var end = document.getElementById('engage-pref-end');
  var zone = document.getElementById('engage-pref-zone');
  var followUps = document.getElementById('engage-followups');
  var pending = 2;

  function settled() {
    pending -= 1;
    if (pending === 0) { document.body.setAttribute('data-prefs-ready', 'true'); }
  }

  function prefsProblem(heading, issues) {
    prefsErrors.textContent = '';
    prefsErrors.appendChild(element('p', 'engage-errors-heading', heading));
    if (issues && issues.length) {
      var list = element('ul');
      issues.forEach(function (issue) { list.appendChild(element('li', null, (issue.details && issue.details.text) || issue.diagnostics || '')); });
      prefsErrors.appendChild(list);
    }
    prefsErrors.hidden = false;
    prefsErrors.focus();
  }

  function showPreferences(body) {
    channels.querySelectorAll('.engage-choice, .engage-hint').forEach(function (e) { e.remove(); });
    if (!body.channels.length) { channels.appendChild(element('p', 'engage-hint', texts.prefsNoChannel)); }
    body.channels.forEach(function (channel) {
      var choice = element('div', 'engage-choice');
      var input = element('input');
      input.type = 'radio';
      input.name = 'channel';
      input.id = 'engage-pref-channel-' + channel;
      input.value = channel;
      input.checked = channel === body.channel;
      var label = element('label', null, texts['channel.' + channel] || channel);
      label.htmlFor = input.id;
      choice.appendChild(input);
      choice.appendChild(label);
      channels.appendChild(choice);
    });
    language.textContent = '';
    body.languages.forEach(function (code) {
      var option = element('option', null, texts['language.' + code] || code);
      option.value = code;
      option.lang = code;
      option.selected = code === body.language;
      language.appendChild(option);
    });
    start.value = body.contactWindow.start;
    end.value = body.contactWindow.end;
    zone.textContent = texts.prefsZone.replace('{0}', body.timeZone);
    var editable = body.known;
    Array.prototype.forEach.call(prefsForm.elements, function (e) { e.disabled = !editable; });
    if (!editable) { prefsStatus.textContent = texts.prefsUnknown; }
  }

  function onSavePreferences(event) {
    event.preventDefault();
    if (prefsSave.disabled) { return; }
    prefsErrors.hidden = true;
    var checked = prefsForm.querySelector('input[name="channel"]:checked');
    if (!start.value || !end.value || end.value <= start.value) {
      prefsProblem(texts.prefsInvalid, [{ diagnostics: texts.prefsWindowOrder }]);
      return;
    }
    var change = { language: language.value, contactWindow: { start: start.value.slice(0, 5), end: end.value.slice(0, 5) } };
    if (checked) { change.channel = checked.value; }
    prefsSave.disabled = true;
    prefsStatus.textContent = texts.prefsSaving;
    fetch(api + '/preferences', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(change),
      cache: 'no-store',
      credentials: 'omit'
    }).then(function (r) {
      prefsSave.disabled = false;
      if (r.ok) {
        return r.json().then(function (body) {
          showPreferences(body);
          prefsStatus.textContent = texts.prefsSaved;
          document.body.setAttribute('data-prefs-saved', 'true');
        });
      }
      return readOutcome(r).then(function (issues) {
        prefsStatus.textContent = '';
        if (r.status === 401 || r.status === 410) {
          prefsProblem(refused(r.status, issues), []);
        } else if (r.status === 400 || r.status === 404 || r.status === 422) {
          prefsProblem(texts.prefsInvalid, issues);
        } else {
          prefsProblem(texts.prefsFailed, []);
        }
      });
    }).catch(function () {
      prefsSave.disabled = false;
      prefsStatus.textContent = '';
      prefsProblem(texts.prefsFailed, []);
    });
  }

  function loadPreferences() {
    fetch(api + '/preferences', { headers: { 'Accept': 'application/json' }, cache: 'no-store', credentials: 'omit' })
      .then(function (r) {
        if (!r.ok) { throw new Error('preferences ' + r.status); }
        return r.json().then(function (body) {
          showPreferences(body);
          prefs.hidden = false;
          prefsForm.addEventListener('submit', onSavePreferences);
        });
      })
      .catch(function () { prefs.hidden = false; prefsForm.hidden = true; prefsProblem(texts.prefsFailed, []); })
      .then(settled);
  }

  // ---- Your follow-ups ---------------------------------------------------------------------------------------------
  function fillList(list, items, empty, render) {
    list.textContent = '';
    if (!items.length) { list.appendChild(element('li', 'engage-empty', empty)); }
    items.forEach(function (item) { list.appendChild(render(item)); });
  }

  function loadOverview() {
    return fetch(api + '/overview?lang=' + encodeURIComponent(lang), { headers: { 'Accept': 'application/json' }, cache: 'no-store', credentials: 'omit' })
      .then(function (r) {
        if (!r.ok) { followUps.hidden = true; return; }
        return r.json().then(function (body) {
          document.getElementById('engage-followups-zone').textContent = texts.followUpsZone.replace('{0}', body.timeZone);
          fillList(document.getElementById('engage-upcoming'), body.upcoming, texts.noUpcoming, function (item) {
            var li = element('li');
            li.appendChild(element('strong', null, item.title));
            var when = element('time', 'engage-when', item.when);
            when.dateTime = item.due;
            li.appendChild(when);
            li.appendChild(element('span', 'engage-tag', texts['status.' + item.status] || ''));
            return li;
          });
          fillList(document.getElementById('engage-responses'), body.responses, texts.noResponses, function (item) {
            var li = element('li');
            li.appendChild(element('strong', null, item.title));
            var when = element('time', 'engage-when', item.when);
            when.dateTime = item.authored;
            li.appendChild(when);
            li.appendChild(element('p', 'engage-explanation', item.explanation));
            return li;
          });
          followUps.hidden = false;
        });
      })
      .catch(function () { followUps.hidden = true; });
  }

  loadPreferences();
  loadOverview().then(settled);

  if (answered) { return; }

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
