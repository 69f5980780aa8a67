// Drives the engagement dashboard in headless Chromium (playwright-core, the system browser) for EngagementDashboardTests.
// Input: one JSON argument {url, adminKey, wrongKey, screenshot?}. Output: one JSON line on stdout with what the care team would see
// (tiles, tables, the charts' data as chart.js holds it, where requests went, errors); the C# test asserts on it.
import { chromium } from 'playwright-core';

const input = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: process.env.ENGAGEMENT_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const result = { console: [], failedResponses: [], requests: [] };
const text = async (page, selector) => (await page.textContent(selector))?.replace(/\s+/g, ' ').trim();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  // CSP violations are reported as events, not always as console errors.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
  });
  // Failed loads are listed with their path (the console's "Failed to load resource" line does not name it).
  page.on('console', m => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) { result.console.push(m.text()); } });
  page.on('response', r => { if (r.status() >= 400) { result.failedResponses.push(r.status() + ' ' + new URL(r.url()).pathname); } });
  page.on('pageerror', e => { result.console.push(String(e)); });
  page.on('request', r => { result.requests.push(new URL(r.url()).host); });
  const response = await page.goto(input.url, { waitUntil: 'load' });
  result.status = response.status();
  result.csp = response.headers()['content-security-policy'];

  // No key in this tab yet: the page asks for it.
  await page.waitForSelector('#login:not([hidden])', { timeout: 30000 });
  result.loginShownFirst = await page.isVisible('#login');
  result.periodStart = await page.inputValue('#periodStart');
  result.periodEnd = await page.inputValue('#periodEnd');

  // A wrong key is refused and forgotten.
  await page.fill('#adminKey', input.wrongKey);
  await page.click('#keyForm button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('status').textContent.length > 0, null, { timeout: 30000 });
  result.wrongKeyStatus = await text(page, '#status');
  result.wrongKeyKept = await page.evaluate(() => sessionStorage.length);

  // The right key: the figures load.
  await page.fill('#adminKey', input.adminKey);
  await page.click('#keyForm button[type="submit"]');
  await page.waitForSelector('body[data-loaded]', { timeout: 60000 });
  result.contentVisible = await page.isVisible('#content');
  result.tiles = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(e => [e.dataset.metric, e.textContent.trim()])));
  const rows = id => page.evaluate(t => [...document.querySelectorAll('#' + t + ' tbody tr')].map(tr => [...tr.cells].map(td => td.textContent.trim())), id);
  result.followThrough = await rows('followThrough');
  result.openEscalations = await rows('openEscalations');
  result.scoreTrends = await rows('scoreTrends');
  result.charts = await page.evaluate(() => Object.fromEntries(['responseRateChart', 'timeToRespondChart', 'followThroughChart', 'scoreChart'].map(id => {
    const chart = window.Chart && window.Chart.getChart(id);
    return [id, chart ? { type: chart.config.type, labels: chart.data.labels, data: chart.data.datasets[0].data, width: chart.width, height: chart.height } : null];
  })));
  result.keyInLocalStorage = await page.evaluate(() => localStorage.length);
  if (input.screenshot) {
    await page.waitForTimeout(1500); // chart.js animates the first draw
    await page.screenshot({ path: input.screenshot, fullPage: true });
  }

  // "Forget key" clears the tab's key and asks again.
  await page.click('#signOut');
  result.loginAfterSignOut = await page.isVisible('#login');
  result.keyAfterSignOut = await page.evaluate(() => sessionStorage.length);
  result.cspViolations = await page.evaluate(() => window.__cspViolations);
  result.requests = [...new Set(result.requests)];
} catch (e) {
  result.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
