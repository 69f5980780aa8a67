using System.Globalization;
using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>
/// The care team's dashboard end to end: the figures of <see cref="EngagementScenarioFixture"/> in headless Chromium
/// (Debian chromium driven by playwright-core through <c>dashboard-page.mjs</c>), compared with what
/// <c>/api/metrics/engagement</c> returns for the same period and with the scenario's known counts.
/// </summary>
[Collection(EngagementScenarioCollection.Name)]
public sealed class EngagementDashboardTests(EngagementScenarioFixture fixture)
{
    private static readonly string[][] FollowThroughRows = [["post-discharge", "7", "2", "28.6%"]];
    private static readonly double[] FollowThroughRates = [0.2857];
    private static readonly string[] ScoreChartLabels = ["phq-9"];
    private static readonly string[] AcceptedFailures = ["401 /api/metrics/engagement", "404 /favicon.ico"];

    [Fact]
    public async Task The_dashboard_asks_for_the_key_and_renders_the_figures_the_api_returns()
    {
        var host = fixture.Host;
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/metrics/engagement?" + fixture.Period);
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var api = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        // Taken into a fresh file, so the check below sees this run's screenshot; then moved to docs/ or artifacts/.
        var screenshot = Path.Combine(Path.GetTempPath(), "engagement-dashboard-" + Guid.NewGuid().ToString("N") + ".png");
        var page = await BrowseAsync(new
        {
            url = new Uri(host.BaseAddress, "/dashboard?" + fixture.Period).ToString(),
            adminKey = StandaloneHost.AdminKey,
            wrongKey = "not-the-admin-key",
            screenshot,
        });

        Assert.Equal(200, page.GetProperty("status").GetInt32());
        Assert.Contains("script-src 'self'", page.GetProperty("csp").GetString(), StringComparison.Ordinal);
        Assert.True(page.GetProperty("loginShownFirst").GetBoolean());
        Assert.Equal((fixture.PeriodStart, fixture.PeriodEnd), (page.GetProperty("periodStart").GetString(), page.GetProperty("periodEnd").GetString()));
        Assert.Equal("The key or token was not accepted.", page.GetProperty("wrongKeyStatus").GetString());
        Assert.Equal(0, page.GetProperty("wrongKeyKept").GetInt32());
        Assert.True(page.GetProperty("contentVisible").GetBoolean());
        Assert.True(File.Exists(screenshot) && new FileInfo(screenshot).Length > 10_000, "the dashboard's screenshot");
        File.Move(screenshot, TestEnvironment.ScreenshotPath("dashboard.png"), overwrite: true);

        // Headline tiles: what the API returned, formatted as the page promises ...
        var measures = api.GetProperty("measures").EnumerateArray().ToDictionary(m => m.GetProperty("code").GetString()!);
        var totals = api.GetProperty("totals");
        var timeToRespond = api.GetProperty("timeToRespond");
        var expected = new Dictionary<string, string>
        {
            ["requests"] = measures["response-rate"].GetProperty("denominator").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["responses"] = measures["response-rate"].GetProperty("numerator").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["response-rate"] = Percent(measures["response-rate"].GetProperty("score").GetDouble()),
            ["median-minutes"] = "≤ " + timeToRespond.GetProperty("medianMinutes").GetDouble().ToString(CultureInfo.InvariantCulture) + " min",
            ["p90-minutes"] = "≤ " + timeToRespond.GetProperty("p90Minutes").GetDouble().ToString(CultureInfo.InvariantCulture) + " min",
            ["messages-sent"] = totals.GetProperty("message-sent").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["messages-failed"] = measures["messages-failed"].GetProperty("numerator").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["links-opened"] = measures["links-opened"].GetProperty("numerator").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["reminders"] = totals.GetProperty("reminder-sent").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["follow-through"] = Percent(measures["follow-through"].GetProperty("score").GetDouble()),
            ["escalations"] = totals.GetProperty("escalation-raised").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["red-flags"] = totals.GetProperty("red-flag-raised").GetInt64().ToString(CultureInfo.InvariantCulture),
            ["opt-outs"] = totals.GetProperty("opt-out").GetInt64().ToString(CultureInfo.InvariantCulture),
        };
        var tiles = page.GetProperty("tiles").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        Assert.Equal(expected, tiles);

        // ... which are the scenario's known counts.
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["requests"] = "7", ["responses"] = "2", ["response-rate"] = "28.6%", ["median-minutes"] = "≤ 1 min", ["p90-minutes"] = "≤ 1 min",
                ["messages-sent"] = "18", ["messages-failed"] = "0", ["links-opened"] = "2", ["reminders"] = "10", ["follow-through"] = "28.6%", ["escalations"] = "5", ["red-flags"] = "1", ["opt-outs"] = "1",
            },
            tiles);

        // Tables.
        Assert.Equal(FollowThroughRows, Rows(page, "followThrough"));
        var open = Rows(page, "openEscalations");
        Assert.Equal(
            api.GetProperty("openEscalations").EnumerateArray().Select(o => (o.GetProperty("kind").GetString()!, o.GetProperty("taskId").GetString()!)).Order(),
            open.Select(r => (r[0], r[4])).Order());
        Assert.Equal((4, 0), (open.Count(r => r[0] == "escalation"), open.Count(r => r[0] == "red-flag"))); // one escalation and the red flag were acknowledged in the EHR
        Assert.All(open, r => Assert.Equal("post-discharge", r[1]));
        Assert.Equal(new[] { new[] { EngagementScenarioFixture.Phq9, "1", "1", "-9", "1", "0" } }, Rows(page, "scoreTrends"));

        // Charts: chart.js (our own asset) holds the API's series.
        var charts = page.GetProperty("charts");
        var histogram = charts.GetProperty("timeToRespondChart");
        Assert.Equal(timeToRespond.GetProperty("counts").EnumerateArray().Select(c => c.GetDouble()), histogram.GetProperty("data").EnumerateArray().Select(c => c.GetDouble()));
        Assert.Equal("≤1", histogram.GetProperty("labels")[0].GetString());
        Assert.Equal(">10080", histogram.GetProperty("labels")[13].GetString());
        var daily = charts.GetProperty("responseRateChart");
        Assert.Equal(api.GetProperty("daily").EnumerateArray().Select(d => d.GetProperty("day").GetString()), daily.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(FollowThroughRates, charts.GetProperty("followThroughChart").GetProperty("data").EnumerateArray().Select(d => d.GetDouble()));
        Assert.Equal(ScoreChartLabels, charts.GetProperty("scoreChart").GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal(new[] { -9.0 }, charts.GetProperty("scoreChart").GetProperty("data").EnumerateArray().Select(d => d.GetDouble()));
        foreach (var chart in charts.EnumerateObject())
        {
            Assert.True(chart.Value.GetProperty("width").GetDouble() > 0 && chart.Value.GetProperty("height").GetDouble() > 0, $"{chart.Name} was not drawn");
        }

        // The key lives in this tab only and "Forget key" drops it; nothing came from elsewhere, nothing broke the CSP.
        Assert.Equal(0, page.GetProperty("keyInLocalStorage").GetInt32());
        Assert.True(page.GetProperty("loginAfterSignOut").GetBoolean());
        Assert.Equal(0, page.GetProperty("keyAfterSignOut").GetInt32());
        Assert.Empty(page.GetProperty("cspViolations").EnumerateArray());
        Assert.All(page.GetProperty("requests").EnumerateArray(), h => Assert.Equal(host.BaseAddress.Authority, h.GetString()));
        Assert.Empty(page.GetProperty("console").EnumerateArray());
        var failed = page.GetProperty("failedResponses").EnumerateArray().Select(f => f.GetString()!).ToList();
        Assert.Contains("401 /api/metrics/engagement", failed); // the wrong key
        Assert.All(failed, f => Assert.Contains(f, AcceptedFailures)); // and the browser's own favicon request, if it makes one
    }

    /// <summary>The page's percentage: one decimal, as <c>dashboard.js</c> formats it.</summary>
    private static string Percent(double score) => (Math.Round(score * 1000, MidpointRounding.AwayFromZero) / 10).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static List<string[]> Rows(JsonElement page, string table) =>
        [.. page.GetProperty(table).EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetString()!).ToArray())];

    private static Task<JsonElement> BrowseAsync(object input) => BrowserScript.RunAsync("Measures/dashboard-page.mjs", input);
}
