// Drives the engagement page in headless Chromium (playwright-core, the system browser) for EngagementPageTests.
// Input: one JSON argument {url, answers?: [0-3 per PHQ-9 item, null = leave unanswered], filledScreenshot?, doneScreenshot?,
//   preferences?: {channel?, language?, start?, end?} to change under "Your preferences" (before answering), prefsScreenshot?}.
// A link whose response was already sent opens (410) the page without the form (<main data-mode="answered">).
// Output: one JSON line on stdout with what a patient would see; the C# test asserts on it.
import { chromium } from 'playwright-core';

const input = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.ENGAGEMENT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const result = { console: [], cspViolations: [], requests: [] };
const text = async (page, selector) => (await page.isVisible(selector)) ? (await page.textContent(selector))?.replace(/\s+/g, ' ').trim() : null;

// "Your preferences" and "Your follow-ups": what is shown, then a change made the way a patient makes it.
async function preferences(page, change) {
  await page.waitForSelector('body[data-prefs-ready="true"]', { timeout: 60000 });
  result.prefsVisible = await page.isVisible('#engage-prefs');
  result.channelLabels = await page.locator('#engage-pref-channels label').allTextContents();
  result.checkedChannel = await page.evaluate(() => { const c = document.querySelector('#engage-pref-channels input:checked'); return c && c.value; });
  result.languageOptions = await page.locator('#engage-pref-language option').allTextContents();
  result.zoneText = await text(page, '#engage-pref-zone');
  result.followUpsText = await text(page, '#engage-followups');
  // Every control has a label a screen reader announces.
  result.unlabelled = await page.evaluate(() => [...document.querySelectorAll('#engage-prefs input, #engage-prefs select')]
    .filter(e => !(e.labels && e.labels.length)).map(e => e.id || e.name));
  if (change.channel) { await page.locator(`label[for="engage-pref-channel-${change.channel}"]`).click(); }
  if (change.language) { await page.selectOption('#engage-pref-language', change.language); }
  if (change.start) { await page.fill('#engage-pref-start', change.start); }
  if (change.end) { await page.fill('#engage-pref-end', change.end); }
  await page.click('#engage-prefs-save');
  await page.waitForSelector('body[data-prefs-saved="true"], #engage-prefs-errors:not([hidden])', { timeout: 60000 });
  result.prefsSaved = await page.evaluate(() => document.body.getAttribute('data-prefs-saved') === 'true');
  result.prefsStatus = await text(page, '#engage-prefs-status');
  result.prefsErrors = await text(page, '#engage-prefs-errors');
  result.prefsFocused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  if (input.prefsScreenshot) {
    // The two sections only, from the top of "Your preferences" to the end of "Your follow-ups".
    const top = await page.evaluate(() => document.getElementById('engage-prefs').getBoundingClientRect().top + window.scrollY);
    const bottom = await page.evaluate(() => document.getElementById('engage-followups').getBoundingClientRect().bottom + window.scrollY);
    await page.screenshot({ path: input.prefsScreenshot, fullPage: true, clip: { x: 0, y: Math.max(0, top - 8), width: 375, height: bottom - top + 16 } });
  }
}
try {
  // A phone: 375 px wide, touch.
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, locale: input.locale || 'en-US' });
  const page = await context.newPage();
  page.on('console', m => { if (m.type() === 'error') { result.console.push(m.text()); } });
  page.on('request', r => { result.requests.push(new URL(r.url()).host); });
  page.on('response', r => { if (r.status() >= 400) { result.console.push(r.status() + ' ' + new URL(r.url()).pathname.replace(/engage\/[^/]+/, 'engage/{token}')); } });
  const response = await page.goto(input.url, { waitUntil: 'load' });
  result.status = response.status();
  result.lang = await page.getAttribute('html', 'lang');
  result.title = (await page.textContent('h1'))?.trim();
  result.mode = await page.getAttribute('main', 'data-mode');
  if (result.status !== 200 && result.mode !== 'answered') {
    result.body = (await page.textContent('main'))?.trim();
  } else {
    if (input.preferences) { await preferences(page, input.preferences); }
    if (result.mode === 'answered') {
      result.body = (await page.textContent('main'))?.replace(/\s+/g, ' ').trim();
    }
  }
  if (result.status === 200 && result.mode !== 'answered' && input.answers) {
    await page.waitForSelector('body[data-engage-ready="true"], #engage-errors:not([hidden])', { timeout: 60000 });
    const radios = page.locator('#engage-lforms input[type="radio"]');
    result.radioCount = await radios.count();
    result.formText = (await page.textContent('#engage-lforms'))?.replace(/\s+/g, ' ').trim();
    for (let item = 0; item < (input.answers || []).length; item++) {
      const answer = input.answers[item];
      if (answer === null || answer === undefined) { continue; }
      // The ant-design radio input is visually replaced; a patient taps its label.
      await page.locator('#engage-lforms label.ant-radio-wrapper').nth(item * 4 + answer).click();
    }
    if (input.filledScreenshot) { await page.screenshot({ path: input.filledScreenshot, fullPage: true }); }
    await page.click('#engage-submit');
    await page.waitForSelector('#engage-done:not([hidden]), #engage-errors:not([hidden])', { timeout: 60000 });
    result.done = await page.isVisible('#engage-done');
    result.doneText = (await page.textContent('#engage-done'))?.replace(/\s+/g, ' ').trim();
    result.errorsText = await page.isVisible('#engage-errors') ? (await page.textContent('#engage-errors'))?.replace(/\s+/g, ' ').trim() : null;
    result.focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    result.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    if (input.doneScreenshot) { await page.screenshot({ path: input.doneScreenshot, fullPage: true }); }
  }
  result.scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  result.requests = [...new Set(result.requests)];
} catch (e) {
  result.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
