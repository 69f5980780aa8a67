using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace Engagement.Intake.Benchmarks;

/// <summary>
/// Load for the intake accept path: a closed loop (N workers, as fast as answers come) for throughput, then an open loop at
/// a fixed rate whose latency counts from each request's scheduled start (no coordinated omission). Every intake request
/// is a distinct notification (new event number), so each one is a real insert, never the duplicate path. Loopback only.
/// </summary>
internal static class LoadClient
{
    public static async Task<int> RunAsync(string[] args)
    {
        // The client must not be what is measured: with the thread pool's default floor (one thread per core) a loaded
        // 2-core machine made the soak's client, built the same way, send up to a second late (docs/reliability.md).
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, 64), Math.Max(minIo, 64));
        var options = args.Select((a, i) => (a, i)).Where(t => t.a.StartsWith("--", StringComparison.Ordinal))
            .ToDictionary(t => t.a[2..], t => t.i + 1 < args.Length ? args[t.i + 1] : "");
        var baseUrl = new Uri(options.GetValueOrDefault("url", "http://127.0.0.1:7071"));
        if (!baseUrl.IsLoopback)
        {
            Console.Error.WriteLine("The load client only targets loopback addresses.");
            return 2;
        }

        var target = options.GetValueOrDefault("target", "intake");
        var seconds = double.Parse(options.GetValueOrDefault("seconds", "15"), CultureInfo.InvariantCulture);
        var workers = int.Parse(options.GetValueOrDefault("workers", "16"), CultureInfo.InvariantCulture);
        var rate = int.Parse(options.GetValueOrDefault("rate", "200"), CultureInfo.InvariantCulture);
        var secret = options.GetValueOrDefault("secret", "load-secret");
        var phases = options.GetValueOrDefault("phases", "closed,open").Split(',');
        var warmup = double.Parse(options.GetValueOrDefault("warmup", "0"), CultureInfo.InvariantCulture);
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "notification-full-resource.json"))
            .Replace("sub-encounters", "sub-load-" + Guid.NewGuid().ToString("N")[..8], StringComparison.Ordinal);
        var number = 0L;

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(workers, 64), PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = baseUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };

        HttpRequestMessage NewRequest()
        {
            if (target == "floor")
            {
                return new HttpRequestMessage(HttpMethod.Post, new Uri("/api/diagnostics/intake-floor", UriKind.Relative));
            }

            var n = Interlocked.Increment(ref number).ToString(CultureInfo.InvariantCulture);
            var body = template.Replace("\"valueString\": \"1\"", $"\"valueString\": \"{n}\"", StringComparison.Ordinal);
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/notifications/load", UriKind.Relative))
            {
                Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
            };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/fhir+json; charset=utf-8");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            return request;
        }

        async Task<(bool Ok, double Ms)> SendAsync(long scheduledTicks)
        {
            using var request = NewRequest();
            try
            {
                using var response = await client.SendAsync(request);
                return (response.IsSuccessStatusCode, Stopwatch.GetElapsedTime(scheduledTicks).TotalMilliseconds);
            }
            catch (HttpRequestException)
            {
                return (false, Stopwatch.GetElapsedTime(scheduledTicks).TotalMilliseconds);
            }
        }

        var lags = new List<double>();

        async Task<List<(bool Ok, double Ms)>> OpenLoopAsync(double duration)
        {
            lags.Clear();
            var count = (int)(rate * duration);
            var start = Stopwatch.GetTimestamp();
            var tasks = new List<Task<(bool Ok, double Ms)>>(count);
            for (var i = 0; i < count; i++)
            {
                var scheduled = start + (long)(i * (double)Stopwatch.Frequency / rate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduled);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                lags.Add(Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds); // the client's own lateness, in the latency
                tasks.Add(SendAsync(scheduled));
            }

            return [.. await Task.WhenAll(tasks)];
        }

        // Warm-up: connections, table creation — and with --warmup, seconds at the open-loop rate, unreported, so that
        // what follows measures a host whose code is compiled (a fresh host spends its first ~20 s in the JIT on 2 cores).
        for (var i = 0; i < 50; i++)
        {
            await SendAsync(Stopwatch.GetTimestamp());
        }

        if (warmup > 0)
        {
            await OpenLoopAsync(warmup);
        }

        // Closed loop: throughput.
        if (phases.Contains("closed"))
        {
            var closedEnd = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            var closed = await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
            {
                var list = new List<(bool Ok, double Ms)>();
                while (Stopwatch.GetTimestamp() < closedEnd)
                {
                    list.Add(await SendAsync(Stopwatch.GetTimestamp()));
                }

                return list;
            }));
            var all = closed.SelectMany(l => l).ToList();
            Report($"{target} closed loop, {workers} workers", all, seconds);
        }

        if (!phases.Contains("open"))
        {
            return 0;
        }

        // Open loop at a fixed rate: latency from the scheduled start.
        Report($"{target} open loop at {rate} req/s", await OpenLoopAsync(seconds), seconds);
        var sorted = lags.Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  (client lag before sending, included above: p99 {Percentile(sorted, 0.99):F1} ms, max {Percentile(sorted, 1):F1} ms)"));
        return 0;
    }

    private static void Report(string name, List<(bool Ok, double Ms)> results, double seconds)
    {
        var ok = results.Where(r => r.Ok).Select(r => r.Ms).Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: {ok.Length / seconds:F0} ok/s, {results.Count - ok.Length} failed, p50 {Percentile(ok, 0.50):F1} ms, p95 {Percentile(ok, 0.95):F1} ms, p99 {Percentile(ok, 0.99):F1} ms, max {Percentile(ok, 1):F1} ms"));
    }

    /// <summary>The nearest-rank percentile of sorted values (<paramref name="q"/> 1 is the largest); NaN when there are none.</summary>
    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
