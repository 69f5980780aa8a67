// Drives the engagement page in headless Chromium (playwright-core, the system browser) for EngagementPageTests.
// Input: one JSON argument {url, answers: [0-3 per PHQ-9 item, null = leave unanswered], filledScreenshot?, doneScreenshot?}.
// Output: one JSON line on stdout with what a patient would see; the C# test asserts on it.
import { chromium } from 'playwright-core';

const input = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.ENGAGEMENT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const result = { console: [], cspViolations: [], requests: [] };
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
  if (result.status !== 200) {
    result.body = (await page.textContent('main'))?.trim();
  } else {
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
  result.requests = [...new Set(result.requests)];
} catch (e) {
  result.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
