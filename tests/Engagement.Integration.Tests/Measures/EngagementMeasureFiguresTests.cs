using System.Globalization;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Measures;
using Engagement.Measures.AzureStorage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>
/// The measures the end-to-end scenario (<see cref="EngagementScenarioTests"/>) cannot tell apart — there, no message
/// fails, every response comes within the same minute bin (p90 = median) — from a recorded set of events with known
/// figures, read through the standalone host's <c>$engagement</c> and metrics JSON: messages failed, links opened, the
/// 90th percentile of time to respond against the median, and their strata.
/// </summary>
public sealed class EngagementMeasureFiguresTests : IAsyncLifetime
{
    private const string Phq9 = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
    private static readonly DateTimeOffset Day = new(2026, 3, 10, 9, 0, 0, TimeSpan.Zero);
    private static readonly FhirJsonDeserializer Parser = new();
    private readonly string table = "Measures" + Guid.NewGuid().ToString("N")[..12];
    private StandaloneHost host = null!;

    public async Task InitializeAsync()
    {
        host = new StandaloneHost(new Dictionary<string, string?> { ["Engagement__Measures__TableName"] = table });
        await host.StartAsync();
        var store = new TableEngagementStore(
            TestEnvironment.StorageClients(),
            Options.Create(new MeasuresOptions { TableName = table }));
        var events = new List<EngagementEvent>();
        var n = 0;
        EngagementEvent Event(string kind, string channel, string? questionnaire = null, double? minutes = null) => new()
        {
            Id = $"{kind}-{n++}",
            Kind = kind,
            OccurredAt = Day.AddMinutes(n),
            Protocol = "post-discharge",
            Questionnaire = questionnaire ?? "-",
            AgeBand = "40-64",
            Language = "en",
            Channel = channel,
            Minutes = minutes,
        };

        // Messages: 10 by sms (3 failed, 6 delivered), 4 by email (1 failed, 3 delivered).
        events.AddRange(Enumerable.Range(0, 10).Select(_ => Event(EngagementEventKinds.MessageSent, "sms")));
        events.AddRange(Enumerable.Range(0, 3).Select(_ => Event(EngagementEventKinds.MessageFailed, "sms")));
        events.AddRange(Enumerable.Range(0, 6).Select(_ => Event(EngagementEventKinds.MessageDelivered, "sms")));
        events.AddRange(Enumerable.Range(0, 4).Select(_ => Event(EngagementEventKinds.MessageSent, "email")));
        events.Add(Event(EngagementEventKinds.MessageFailed, "email"));
        events.AddRange(Enumerable.Range(0, 3).Select(_ => Event(EngagementEventKinds.MessageDelivered, "email")));

        // Questionnaire requests: 10 due and 6 reminders, each with its own link; 8 links opened; 10 responses, eight
        // within 5 minutes, one after 200 minutes (bin ≤ 240) and one after 3,000 (bin ≤ 4,320).
        events.AddRange(Enumerable.Range(0, 10).Select(_ => Event(EngagementEventKinds.ActivityDue, "sms", Phq9)));
        events.AddRange(Enumerable.Range(0, 6).Select(_ => Event(EngagementEventKinds.ReminderSent, "sms", Phq9)));
        events.AddRange(Enumerable.Range(0, 8).Select(_ => Event(EngagementEventKinds.LinkOpened, "sms", Phq9)));
        events.AddRange(Enumerable.Range(0, 8).Select(_ => Event(EngagementEventKinds.ResponseReceived, "sms", Phq9, 3)));
        events.Add(Event(EngagementEventKinds.ResponseReceived, "sms", Phq9, 200));
        events.Add(Event(EngagementEventKinds.ResponseReceived, "sms", Phq9, 3000));
        foreach (var e in events)
        {
            Assert.True(await store.RecordAsync(e, CancellationToken.None));
        }
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    private async Task<string> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Add("X-Admin-Key", StandaloneHost.AdminKey);
        using var response = await host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {body}");
        return body;
    }

    private static (int Initial, int Denominator, int Numerator) Counts(MeasureReport.GroupComponent group) =>
        (Count(group.Population, "initial-population"), Count(group.Population, "denominator", "measure-population"), Count(group.Population, "numerator"));

    private static int Count(IEnumerable<MeasureReport.PopulationComponent> populations, params string[] codes) =>
        populations.FirstOrDefault(p => codes.Contains(p.Code!.Coding[0].Code))?.Count ?? -1;

    [Fact]
    public async Task Failed_messages_opened_links_and_the_90th_percentile_of_time_to_respond_are_reported_with_their_strata()
    {
        var period = "periodStart=2026-03-10&periodEnd=2026-03-10";
        var report = Parser.Deserialize<MeasureReport>(await GetAsync("/api/fhir/MeasureReport/$engagement?" + period))!;
        MeasureReport.GroupComponent Group(string code) => Assert.Single(report.Group, g => g.Code!.Coding[0].Code == code);

        var failed = Group("messages-failed");
        Assert.Equal((14, 14, 4), Counts(failed));
        Assert.Equal(0.2857m, failed.MeasureScore!.Value);
        var byChannel = Assert.Single(failed.Stratifier, s => s.Code[0]!.Text == "channel");
        var sms = Assert.Single(byChannel.Stratum, s => s.Value!.Text == "sms");
        Assert.Equal(0.3m, sms.MeasureScore!.Value);
        Assert.Equal(0.25m, Assert.Single(byChannel.Stratum, s => s.Value!.Text == "email").MeasureScore!.Value);
        Assert.Equal((14, 14, 9), Counts(Group("messages-delivered")));

        var opened = Group("links-opened");
        Assert.Equal((16, 16, 8), Counts(opened));
        Assert.Equal(0.5m, opened.MeasureScore!.Value);

        var median = Group("time-to-respond");
        var p90 = Group("time-to-respond-p90");
        Assert.Equal((10, 10, -1), Counts(median));
        Assert.Equal((10, 10, -1), Counts(p90));
        Assert.Equal("h", p90.MeasureScore!.Unit);
        Assert.Equal(5m / 60, Math.Round(median.MeasureScore!.Value!.Value, 6), 4); // rank 5 of 10: the ≤ 5 min bin
        Assert.Equal(4m, p90.MeasureScore.Value); // rank 9 of 10: the ≤ 240 min bin, 4 h

        // The dashboard JSON gives the same figures from the same aggregates.
        using var json = JsonDocument.Parse(await GetAsync("/api/metrics/engagement?" + period));
        JsonElement Measure(string code) => json.RootElement.GetProperty("measures").EnumerateArray().Single(m => m.GetProperty("code").GetString() == code);
        Assert.Equal(4, Measure("messages-failed").GetProperty("numerator").GetInt64());
        Assert.Equal(8, Measure("links-opened").GetProperty("numerator").GetInt64());
        Assert.Equal(4.0, Measure("time-to-respond-p90").GetProperty("score").GetDouble());
        var histogram = json.RootElement.GetProperty("timeToRespond");
        Assert.Equal(240, histogram.GetProperty("p90Minutes").GetDouble());
        Assert.Equal(5, histogram.GetProperty("medianMinutes").GetDouble());
        Assert.Equal(4, json.RootElement.GetProperty("totals").GetProperty("message-failed").GetInt64());
        Assert.Equal(8, json.RootElement.GetProperty("totals").GetProperty("link-opened").GetInt64());
    }
}
