using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Engagement.Measures.Benchmarks;

/// <summary>
/// Times the measures routes of a running host from outside (loopback only): the MeasureReport <c>$engagement</c> for the
/// year (all protocols), the year for one protocol, one month, and the dashboard JSON for the year. The first request of
/// each route is reported as cold (in that order, right after the host started), then <c>--warm</c> sequential requests
/// (or as many as fit in <c>--budget</c> seconds per route) give p50/p95/max. Every answer's populations are checked
/// against the seeder's expected counts (<c>--expected</c>); a mismatch fails the run.
/// </summary>
internal static class QueryClient
{
    private const string Protocol = "heart-failure-discharge";

    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        var baseUrl = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:7071"));
        if (!baseUrl.IsLoopback)
        {
            Console.Error.WriteLine("The measures client only targets loopback addresses.");
            return 2;
        }

        var warm = int.Parse(options.GetValueOrDefault("warm", "20"), CultureInfo.InvariantCulture);
        var budget = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("budget", "120"), CultureInfo.InvariantCulture));
        var label = options.GetValueOrDefault("label", "");
        Expected? expected = null;
        if (options.TryGetValue("expected", out var path) && path.Length > 0)
        {
            using var file = JsonDocument.Parse(await File.ReadAllTextAsync(path));
            expected = new Expected
            {
                Counts = file.RootElement.GetProperty("Counts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64(), StringComparer.Ordinal),
                OpenItems = file.RootElement.GetProperty("OpenItems").GetInt32(),
            };
            ScoredPatients = file.RootElement.GetProperty(nameof(ScoredPatients)).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32(), StringComparer.Ordinal);
        }

        using var client = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("timeout", "600"), CultureInfo.InvariantCulture)) };
        client.DefaultRequestHeaders.Add("X-Admin-Key", options.GetValueOrDefault("admin-key", "load-admin"));
        var year = (From: new DateOnly(Population.Year, 1, 1), To: new DateOnly(Population.Year, 12, 31));
        var month = (From: new DateOnly(Population.Year, 6, 1), To: new DateOnly(Population.Year, 6, 30));
        (string Name, string Url, DateOnly From, DateOnly To, string? Protocol, bool Dashboard)[] routes =
        [
            ("MeasureReport year, all protocols", Fhir(year.From, year.To, null), year.From, year.To, null, false),
            ($"MeasureReport year, protocol {Protocol}", Fhir(year.From, year.To, Protocol), year.From, year.To, Protocol, false),
            ("MeasureReport June, all protocols", Fhir(month.From, month.To, null), month.From, month.To, null, false),
            ("dashboard JSON year, all protocols", $"/api/metrics/engagement?periodStart={year.From:yyyy-MM-dd}&periodEnd={year.To:yyyy-MM-dd}", year.From, year.To, null, true),
        ];

        var failures = 0;
        var cold = new List<(string Name, double Ms)>();
        foreach (var route in routes)
        {
            var (ms, body) = await GetAsync(client, route.Url);
            cold.Add((route.Name, ms));
            if (body is null)
            {
                failures++;
                continue;
            }

            if (expected is not null)
            {
                var problems = route.Dashboard ? CheckDashboard(body, expected, route.From, route.To) : CheckReport(body, expected, route.From, route.To, route.Protocol);
                foreach (var problem in problems)
                {
                    Console.Error.WriteLine($"MISMATCH {route.Name}: {problem}");
                    failures++;
                }

                if (problems.Count == 0)
                {
                    Console.WriteLine($"ok {route.Name}: {Headline(body, route.Dashboard)}");
                }
            }
        }

        Console.WriteLine($"## {label} {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ} load average {LoadAverage()}");
        Console.WriteLine($"| route | cold (first request) | warm p50 | warm p95 | warm max | n |");
        Console.WriteLine($"| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (route, first) in routes.Zip(cold))
        {
            var samples = new List<double>();
            var clock = Stopwatch.StartNew();
            var failed = 0;
            while (samples.Count + failed < warm && clock.Elapsed < budget)
            {
                var (ms, body) = await GetAsync(client, route.Url);
                if (body is null)
                {
                    failed++;
                    continue;
                }

                samples.Add(ms);
            }

            samples.Sort();
            Console.WriteLine($"| {route.Name} | {first.Ms:F0} ms | {Percentile(samples, 0.5):F0} ms | {Percentile(samples, 0.95):F0} ms | {(samples.Count == 0 ? double.NaN : samples[^1]):F0} ms | {samples.Count}{(failed > 0 ? $" (+{failed} failed)" : "")} |");
            failures += failed;
        }

        Console.WriteLine($"load average after: {LoadAverage()}");
        return failures == 0 ? 0 : 1;

        static string Fhir(DateOnly from, DateOnly to, string? protocol) =>
            $"/api/fhir/MeasureReport/$engagement?periodStart={from:yyyy-MM-dd}&periodEnd={to:yyyy-MM-dd}" + (protocol is null ? "" : "&protocol=" + protocol);
    }

    private static Dictionary<string, int> ScoredPatients { get; set; } = [];

    public static string Summary(List<double> samples)
    {
        var sorted = samples.Order().ToList();
        return $"p50 {Percentile(sorted, 0.5):F0} ms, p95 {Percentile(sorted, 0.95):F0} ms (n {sorted.Count})";
    }

    private static double Percentile(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>The time to the last byte, and the parsed body (null, after printing why, for anything but a 2xx).</summary>
    private static async Task<(double Ms, JsonDocument? Body)> GetAsync(HttpClient client, string url)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var response = await client.GetAsync(new Uri(url, UriKind.Relative));
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var ms = clock.Elapsed.TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                Console.Error.WriteLine($"FAILED {url}: {(int)response.StatusCode} after {ms:F0} ms: {System.Text.Encoding.UTF8.GetString(bytes)[..Math.Min(300, bytes.Length)]}");
                return (ms, null);
            }

            return (ms, JsonDocument.Parse(bytes));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"FAILED {url}: {ex.GetType().Name} after {clock.Elapsed.TotalMilliseconds:F0} ms");
            return (clock.Elapsed.TotalMilliseconds, null);
        }
    }

    /// <summary>(initial-population, denominator or measure-population, numerator) each measure must report.</summary>
    private static Dictionary<string, (long Initial, long Denominator, long? Numerator)> ExpectedMeasures(Expected e, DateOnly from, DateOnly to, string? protocol)
    {
        long S(string kind) => e.Sum(kind, from, to, protocol);
        return new(StringComparer.Ordinal)
        {
            ["response-rate"] = (S("activity-due"), S("activity-due"), S("response-received")),
            ["time-to-respond"] = (S("activity-due"), S("response-received"), null),
            ["time-to-respond-p90"] = (S("activity-due"), S("response-received"), null),
            ["follow-through"] = (S("activity-due"), S("activity-due"), S("completed-on-time")),
            ["reminders-per-response"] = (S("activity-due"), S("response-received"), S("reminder-sent")),
            ["messages-delivered"] = (S("message-sent"), S("message-sent"), S("message-delivered")),
            ["messages-failed"] = (S("message-sent"), S("message-sent"), S("message-failed")),
            ["links-opened"] = (S("activity-due") + S("reminder-sent"), S("activity-due") + S("reminder-sent"), S("link-opened")),
            ["opt-out-rate"] = (S("engaged"), S("engaged"), S("opt-out")),
            ["red-flag-acknowledgement-time"] = (S("red-flag-raised"), S("red-flag-acknowledged"), null),
        };
    }

    private static List<string> CheckReport(JsonDocument body, Expected expected, DateOnly from, DateOnly to, string? protocol)
    {
        var problems = new List<string>();
        var want = ExpectedMeasures(expected, from, to, protocol);
        var seen = 0;
        foreach (var group in body.RootElement.GetProperty("group").EnumerateArray())
        {
            var code = group.GetProperty("code").GetProperty("coding")[0].GetProperty("code").GetString()!;
            var populations = group.GetProperty("population").EnumerateArray()
                .ToDictionary(p => p.GetProperty("code").GetProperty("coding")[0].GetProperty("code").GetString()!, p => p.GetProperty("count").GetInt64(), StringComparer.Ordinal);
            if (code == "score-change")
            {
                // Patients whose first score falls in the period: every scored patient when the period is the seeded year.
                var scored = populations.GetValueOrDefault("initial-population", -1);
                if (to.DayNumber - from.DayNumber >= 364)
                {
                    Compare(problems, "score-change initial-population", ScoredPatients.Where(p => protocol is null || p.Key.StartsWith(protocol + "|", StringComparison.Ordinal)).Sum(p => p.Value), scored);
                }

                var strata = group.GetProperty("stratifier")[0].GetProperty("stratum").EnumerateArray().Sum(st => st.GetProperty("population")[0].GetProperty("count").GetInt64());
                Compare(problems, "score-change strata of questionnaire initial-population", scored, strata);
                seen++;
                continue;
            }

            var (initial, denominator, numerator) = want[code];
            Compare(problems, code + " initial-population", initial, populations.GetValueOrDefault("initial-population", -1));
            Compare(problems, code + " denominator", denominator, populations.GetValueOrDefault(numerator is null ? "measure-population" : "denominator", -1));
            if (numerator is { } n)
            {
                Compare(problems, code + " numerator", n, populations.GetValueOrDefault("numerator", -1));
                var score = group.TryGetProperty("measureScore", out var s) ? s.GetProperty("value").GetDouble() : double.NaN;
                var ratio = code == "reminders-per-response" ? (double)n / denominator : (double)n / initial;
                if (Math.Abs(score - Math.Round(ratio, 4)) > 1e-9)
                {
                    problems.Add($"{code} score {score}, expected {Math.Round(ratio, 4)}");
                }
            }

            // Strata add up to the whole for every dimension.
            foreach (var stratifier in group.GetProperty("stratifier").EnumerateArray())
            {
                var total = stratifier.GetProperty("stratum").EnumerateArray().Sum(st => st.GetProperty("population").EnumerateArray()
                    .Where(p => p.GetProperty("code").GetProperty("coding")[0].GetProperty("code").GetString() == "initial-population")
                    .Sum(p => p.GetProperty("count").GetInt64()));
                Compare(problems, $"{code} strata of {stratifier.GetProperty("code")[0].GetProperty("text").GetString()} initial-population", initial, total);
            }

            seen++;
        }

        Compare(problems, "groups", want.Count + 1, seen); // and score-change
        return problems;
    }

    private static List<string> CheckDashboard(JsonDocument body, Expected expected, DateOnly from, DateOnly to)
    {
        var problems = new List<string>();
        var totals = body.RootElement.GetProperty("totals");
        foreach (var kind in EngagementEventKinds.All)
        {
            Compare(problems, "totals." + kind, expected.Sum(kind, from, to, null), totals.GetProperty(kind).GetInt64());
        }

        var want = ExpectedMeasures(expected, from, to, null);
        foreach (var measure in body.RootElement.GetProperty("measures").EnumerateArray())
        {
            var code = measure.GetProperty("code").GetString()!;
            Compare(problems, code + " initialPopulation", want[code].Initial, measure.GetProperty("initialPopulation").GetInt64());
            Compare(problems, code + " denominator", want[code].Denominator, measure.GetProperty("denominator").GetInt64());
        }

        var daily = body.RootElement.GetProperty("daily").EnumerateArray().Sum(d => d.GetProperty("responses").GetInt64());
        Compare(problems, "daily responses", expected.Sum("response-received", from, to, null), daily);
        Compare(problems, "open escalations and red flags", expected.OpenItems, body.RootElement.GetProperty("openEscalations").GetArrayLength());
        foreach (var trend in body.RootElement.GetProperty("scoreTrends").EnumerateArray())
        {
            var key = trend.GetProperty("protocol").GetString() + "|" + trend.GetProperty("questionnaire").GetString();
            Compare(problems, "score trend patients " + key, ScoredPatients.GetValueOrDefault(key), trend.GetProperty("patients").GetInt32());
        }

        Compare(problems, "score trends", ScoredPatients.Count, body.RootElement.GetProperty("scoreTrends").GetArrayLength());
        return problems;
    }

    private static void Compare(List<string> problems, string what, long expected, long actual)
    {
        if (expected != actual)
        {
            problems.Add($"{what} = {actual}, expected {expected}");
        }
    }

    private static string Headline(JsonDocument body, bool dashboard)
    {
        if (dashboard)
        {
            var totals = body.RootElement.GetProperty("totals");
            var rate = body.RootElement.GetProperty("measures")[0].GetProperty("score");
            return $"responses {totals.GetProperty("response-received").GetInt64():N0}, requests {totals.GetProperty("activity-due").GetInt64():N0}, response rate {rate}, {body.RootElement.GetProperty("daily").GetArrayLength()} days, {body.RootElement.GetProperty("openEscalations").GetArrayLength()} open items, {body.RootElement.GetProperty("scoreTrends").GetArrayLength()} score trends";
        }

        var first = body.RootElement.GetProperty("group")[0];
        var populations = first.GetProperty("population").EnumerateArray().Select(p => p.GetProperty("count").GetInt64()).ToList();
        return $"response-rate {populations[2]:N0} / {populations[1]:N0} = {first.GetProperty("measureScore").GetProperty("value")}";
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
