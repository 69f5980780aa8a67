using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Engagement.Reliability;

/// <summary>One sample of the soak: host RSS, accept latency and answers over the interval, backlog, machine load.</summary>
public sealed record SoakSample(
    double Seconds,
    double RssMb,
    int Accepted,
    int NotAccepted,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    long IntakeQueue,
    long? InboxPending,
    long? OutboxPending,
    long DurableWorkItems,
    long DurableControl,
    int Responses201,
    double LoadAverage,
    double AzuriteRssMb,
    double LagP99Ms = double.NaN,
    ClientHealth? Client = null)
{
    public const string CsvHeader = "seconds,rss_mb,accepted,not_accepted,p50_ms,p99_ms,max_ms,intake_queue_messages,inbox_pending,outbox_pending,durable_workitems,durable_control,responses_201,load_avg_1m,azurite_rss_mb,client_lag_p99_ms,client_gc_pause_ms,client_gen2,client_threads,client_queued";

    public string ToCsv() => string.Join(',', new object?[]
    {
        Seconds, RssMb, Accepted, NotAccepted, P50Ms, P99Ms, MaxMs, IntakeQueue, InboxPending, OutboxPending, DurableWorkItems, DurableControl, Responses201, LoadAverage, AzuriteRssMb, LagP99Ms,
        Client?.GcPauseMs, Client?.Gen2Collections, Client?.Threads, Client?.QueuedWorkItems,
    }.Select(v => v is double d ? d.ToString("0.#", CultureInfo.InvariantCulture) : Convert.ToString(v, CultureInfo.InvariantCulture)));
}

/// <summary>The load client's (the test process's) own health in a sample interval.</summary>
public sealed record ClientHealth(double GcPauseMs, int Gen2Collections, int Threads, long QueuedWorkItems);

/// <summary>
/// The soak's plot: three panels (host RSS; accept latency p50/p99 per interval; backlog) drawn as inline SVG in an
/// HTML page and screenshotted to PNG by headless Chromium (the browser <c>./test</c> installs for the page tests;
/// <c>ENGAGEMENT_CHROMIUM</c> or <c>chromium</c> on PATH). No network, no new dependency.
/// </summary>
public static class SoakChart
{
    private const int Width = 1200;
    private const int PanelHeight = 250;
    private const int Left = 80;
    private const int Right = 200;
    private const int Top = 30;
    private const int Bottom = 40;

    public static string Html(string title, IReadOnlyList<SoakSample> samples, double loadEndSeconds)
    {
        var svg = new StringBuilder();
        var height = 60 + (3 * (PanelHeight + 20));
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"13\">");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"30\" font-size=\"16\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>");
        var y = 50;
        Panel(svg, y, "host RSS (MB)", samples, loadEndSeconds, [("RSS", "#1f77b4", s => s.RssMb)]);
        y += PanelHeight + 20;
        Panel(svg, y, "accept latency per interval (ms, from scheduled start)", samples, loadEndSeconds,
            [("p99", "#d62728", s => s.Accepted + s.NotAccepted == 0 ? double.NaN : s.P99Ms), ("p50", "#2ca02c", s => s.Accepted + s.NotAccepted == 0 ? double.NaN : s.P50Ms)]);
        y += PanelHeight + 20;
        Panel(svg, y, "backlog (rows and work items waiting)", samples, loadEndSeconds,
        [
            ("inbox pending", "#8c564b", s => s.InboxPending ?? double.NaN),
            ("outbox pending", "#ff7f0e", s => s.OutboxPending ?? double.NaN),
            ("durable work items", "#17becf", s => s.DurableWorkItems),
        ]);
        svg.Append("</svg>");
        return $"<!doctype html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}</style></head><body>{svg}</body></html>";
    }

    private static void Panel(StringBuilder svg, int y0, string title, IReadOnlyList<SoakSample> samples, double loadEnd, (string Name, string Color, Func<SoakSample, double> Value)[] series)
    {
        var plotWidth = Width - Left - Right;
        var plotHeight = PanelHeight - Top - Bottom;
        var xMax = Math.Max(1, samples.Count == 0 ? 1 : samples[^1].Seconds);
        var values = series.SelectMany(s => samples.Select(s.Value)).Where(v => !double.IsNaN(v)).ToList();
        var yMax = NiceCeiling(values.Count == 0 ? 1 : Math.Max(1, values.Max()));
        double X(double s) => Left + (s / xMax * plotWidth);
        double Y(double v) => y0 + Top + plotHeight - (v / yMax * plotHeight);
        string F(double d) => d.ToString("0.#", CultureInfo.InvariantCulture);

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"{y0 + 18}\" font-weight=\"bold\">{WebUtility.HtmlEncode(title)}</text>");
        for (var i = 0; i <= 4; i++)
        {
            var v = yMax * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{F(Y(v))}\" y2=\"{F(Y(v))}\" stroke=\"#ddd\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 8}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{F(v)}</text>");
        }

        var step = NiceCeiling(xMax / 8);
        for (var s = 0.0; s <= xMax + 0.001; s += step)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(s))}\" x2=\"{F(X(s))}\" y1=\"{y0 + Top}\" y2=\"{y0 + Top + plotHeight}\" stroke=\"#eee\"/>");
            var label = xMax >= 600 ? F(s / 60) + " min" : F(s) + " s";
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(s))}\" y=\"{y0 + Top + plotHeight + 18}\" text-anchor=\"middle\">{label}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{y0 + Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#999\"/>");
        if (loadEnd < xMax)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(X(loadEnd))}\" x2=\"{F(X(loadEnd))}\" y1=\"{y0 + Top}\" y2=\"{y0 + Top + plotHeight}\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(loadEnd) + 4)}\" y=\"{y0 + Top + 14}\" fill=\"#555\">load ends, drain</text>");
        }

        for (var k = 0; k < series.Length; k++)
        {
            var (name, color, value) = series[k];
            var path = new StringBuilder();
            var pen = false;
            foreach (var sample in samples)
            {
                var v = value(sample);
                if (double.IsNaN(v))
                {
                    pen = false;
                    continue;
                }

                path.Append(CultureInfo.InvariantCulture, $"{(pen ? 'L' : 'M')}{F(X(sample.Seconds))},{F(Y(v))} ");
                pen = true;
            }

            svg.Append(CultureInfo.InvariantCulture, $"<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"/>");
            var ly = y0 + Top + 14 + (k * 20);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left + plotWidth + 12}\" x2=\"{Left + plotWidth + 32}\" y1=\"{ly - 4}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"3\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotWidth + 38}\" y=\"{ly}\">{WebUtility.HtmlEncode(name)}</text>");
        }
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="v"/>.</summary>
    private static double NiceCeiling(double v)
    {
        if (v <= 0)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(v)));
        return new[] { 1.0, 2, 5, 10 }.Select(m => m * power).First(c => c >= v - 1e-9);
    }

    /// <summary>Screenshots the page to <paramref name="png"/> with headless Chromium; null on success, else why not.</summary>
    public static async Task<string?> RenderPngAsync(string html, string png, int height)
    {
        var work = Directory.CreateTempSubdirectory("engagement-soak-chart-");
        try
        {
            var page = Path.Combine(work.FullName, "chart.html");
            await File.WriteAllTextAsync(page, html);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(png))!);
            var chromium = Environment.GetEnvironmentVariable("ENGAGEMENT_CHROMIUM") ?? "chromium";
            var info = new ProcessStartInfo(chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + Path.Combine(work.FullName, "profile"),
                "--window-size=" + Width.ToString(CultureInfo.InvariantCulture) + "," + height.ToString(CultureInfo.InvariantCulture),
                "--screenshot=" + Path.GetFullPath(png),
                new Uri(page).AbsoluteUri,
            ])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return "chromium did not finish in 2 minutes";
            }

            return process.ExitCode == 0 && File.Exists(png) ? null : $"chromium exited {process.ExitCode}: {(await stderr)[..Math.Min(500, (await stderr).Length)]}";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return "no chromium: " + ex.Message;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    public static int HeightOf() => 60 + (3 * (PanelHeight + 20));
}
