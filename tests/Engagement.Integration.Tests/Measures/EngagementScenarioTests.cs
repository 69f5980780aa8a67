using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Engagement.Outreach;
using Engagement.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>
/// Engagement measures from real events, through the standalone host's public routes only: three post-discharge runs
/// on a shrunk clock, their messages dispatched by the host's own outbox loop.
/// <list type="bullet">
/// <item>A (English, 76: 65-79) ignores the day-2 check-in (sent, 2 reminders, escalated) and answers both PHQ-9s through
/// their links as soon as they arrive: 17 with item 9 above zero (a red flag), then 8. The gateway reports the check-in
/// delivered, twice.</item>
/// <item>B (Spanish, 36: 18-39) answers nothing: 3 activities × (1 message + 2 reminders), 3 escalations.</item>
/// <item>C (English, 51: 40-64) ignores the check-in (sent, 2 reminders, escalated), then replies STOP: the STOP
/// confirmation goes out (a reply, no protocol), and the run ends opted out when the day-7 PHQ-9 is due. C is then
/// discharged again: that run meets the opt-out at its first send, reaches nobody and is no new opt-out.</item>
/// </list>
/// <c>$engagement</c> and the metrics JSON must then show exactly the counts of that scenario (every activity of the
/// protocol carries a Questionnaire: the check-in links post-discharge-checkin), and every MeasureReport must conform
/// to engagement-measurereport. The known counts need A's answers to beat the first reminder (one protocol day later)
/// and C's STOP to beat the day-7 PHQ-9 (two days); the fixture checks that from the runs' history and says so if a slow
/// machine broke it.
/// <see cref="EngagementScenarioTests"/> reads the figures through the API, <see cref="EngagementDashboardTests"/> through the
/// dashboard in a browser.
/// </summary>
public sealed class EngagementScenarioFixture : IAsyncLifetime
{
    private const string EhrSecret = "measures-e2e-inbound-secret";
    private const string SmsSecret = "measures-e2e-sms-secret";

    /// <summary>One protocol day: long enough for a response to reach the run before its first reminder on a loaded machine.</summary>
    public const int SecondsPerDay = 12;

    public const string Phq9 = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]; // PHQ-9 item values 0..3

    private static StandaloneHost NewHost()
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Sources__ehr1__InboundSecret"] = EhrSecret;
        settings["Engagement__Channels__sms__InboundSecret"] = SmsSecret;
        settings["Engagement__SecondsPerDay"] = SecondsPerDay.ToString(CultureInfo.InvariantCulture);
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "00:00:00.500";
        return new StandaloneHost(settings);
    }

    public StandaloneHost Host { get; } = NewHost();

    /// <summary>The first day of the period the scenario's figures are read for (the day before it started, UTC).</summary>
    public string PeriodStart { get; } = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The last day of that period (the day the scenario ended, UTC).</summary>
    public string PeriodEnd { get; private set; } = "";

    /// <summary>Patient A, the one with PHQ-9 scores.</summary>
    public string PatientA { get; } = FollowUpHarness.NewId("pat");

    public string Period => $"periodStart={PeriodStart}&periodEnd={PeriodEnd}";

    public async Task InitializeAsync()
    {
        await Host.StartAsync();
        try
        {
            await RunScenarioAsync(Host);
        }
        catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException("host output:\n" + string.Join('\n', Host.Output.Where(l => l.Contains("fail", StringComparison.OrdinalIgnoreCase) || l.Contains("exception", StringComparison.OrdinalIgnoreCase)).TakeLast(30)), ex);
        }

        PeriodEnd = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    private async Task RunScenarioAsync(StandaloneHost host)
    {
        var (patientA, phoneA) = (PatientA, NewPhone());
        var (patientB, phoneB) = (FollowUpHarness.NewId("pat"), NewPhone());
        var (patientC, phoneC) = (FollowUpHarness.NewId("pat"), NewPhone());
        var runA = await StartRunAsync(host, patientA, "en", "1950-03-01", phoneA);
        var runB = await StartRunAsync(host, patientB, "es", "1990-03-01", phoneB);
        var runC = await StartRunAsync(host, patientC, "en", "1975-03-01", phoneC);

        // A and C act concurrently: each has to act within a protocol day of what it answers.
        var patientAActs = ActAsPatientAAsync(host, runA);
        var secondRunC = await ActAsPatientCAsync(host, runC, patientC, phoneC);
        await patientAActs;

        var finished = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var run in new[] { runA, runB, runC, secondRunC })
        {
            finished[run] = await Poll.UntilAsync(() => FollowUpAsync(host, run), r => r.GetProperty("runtimeStatus").GetString() == "Completed",
                TimeSpan.FromSeconds((40 * SecondsPerDay) + 120), "the run to complete");
        }

        // The scenario's preconditions: A's answers beat the first reminder of their PHQ-9, C's STOP beat the day-7 PHQ-9.
        foreach (var (run, activity, kinds) in new[] { (runA, "phq-9-day-7", "reminded"), (runA, "phq-9-day-30", "reminded"), (runC, "phq-9", "sent reminded") })
        {
            var history = finished[run].GetProperty("history");
            Assert.False(history.EnumerateArray().Any(h => kinds.Split(' ').Contains(h.GetProperty("kind").GetString()) && h.GetProperty("occurrence").GetString()?.StartsWith(activity, StringComparison.Ordinal) == true),
                $"precondition: the patient did not act within a protocol day before {activity} ({SecondsPerDay}s; the machine was too slow). History: {history}");
        }

        Assert.Equal("completed", finished[runA].GetProperty("result").GetProperty("outcome").GetString());
        Assert.Equal("completed", finished[runB].GetProperty("result").GetProperty("outcome").GetString());
        Assert.Equal("opted-out", finished[runC].GetProperty("result").GetProperty("outcome").GetString());
        Assert.Equal("opted-out", finished[secondRunC].GetProperty("result").GetProperty("outcome").GetString());
        Assert.DoesNotContain(finished[secondRunC].GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() is "sent" or "reminded");

        // Everything decided has been handed to the transport (or withheld) before the figures are read.
        await Poll.UntilAsync(async () => (await OutboxAsync(host)).Count(m => m.Status == OutboxStore.Pending), n => n == 0, TimeSpan.FromSeconds(60), "the outbox to drain");
        var outbox = await OutboxAsync(host);
        Assert.DoesNotContain(outbox, m => m.Status == OutboxStore.Suppressed);
        Assert.Equal(17, outbox.Count(m => m.Message.InstanceId is not null && m.Message.Channel == "sms")); // A 5, B 9, C 3
        Assert.Equal(1, outbox.Count(m => m.Message.TemplateCode == "optout-confirmation"));

        // The care team works two of our Tasks in the EHR, which sends them back as its own Task resources carrying our
        // identifiers: A's red-flag review accepted and B's first escalation completed, each 2 minutes after it was raised.
        await AcknowledgeInEhrAsync(host, patientA, "review-red-flag", Hl7.Fhir.Model.Task.TaskStatus.Accepted);
        await AcknowledgeInEhrAsync(host, patientB, "follow-up-no-response", Hl7.Fhir.Model.Task.TaskStatus.Completed);
    }

    /// <summary>
    /// The EHR's copy of the patient's first Task with <paramref name="code"/> (its own id, our identifier), in
    /// <paramref name="status"/> with lastModified 2 minutes after the Task was authored, sent as a rest-hook PUT; returns
    /// once our Task has taken the status.
    /// </summary>
    private static async Task AcknowledgeInEhrAsync(StandaloneHost host, string patientId, string code, Hl7.Fhir.Model.Task.TaskStatus status)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Task?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await response.Content.ReadAsStringAsync())!;
        var ours = bundle.Entry.Select(e => (Hl7.Fhir.Model.Task)e.Resource!)
            .Where(t => t.Code?.Coding.Any(c => c.Code == code) == true).OrderBy(t => t.AuthoredOn, StringComparer.Ordinal).First();
        var ehr = (Hl7.Fhir.Model.Task)ours.DeepCopy();
        ehr.Id = FollowUpHarness.NewId("ehr-task");
        ehr.Meta = null;
        ehr.Status = status;
        ehr.LastModifiedElement = new FhirDateTime(DateTimeOffset.Parse(ours.AuthoredOn!, CultureInfo.InvariantCulture).AddMinutes(2));
        await PutAsync(host, ehr);
        await Poll.UntilAsync(async () =>
        {
            using var get = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Task/{ours.Id}");
            using var answer = await host.Client.SendAsync(get);
            return new FhirJsonDeserializer().Deserialize<Hl7.Fhir.Model.Task>(await answer.Content.ReadAsStringAsync())!.Status;
        }, s => s == status, TimeSpan.FromSeconds(60), $"our {code} Task to take the EHR's status");
    }

    /// <summary>A: the check-in is reported delivered (twice: a redelivered receipt); each PHQ-9 is answered through its link as soon as it arrives.</summary>
    private static async Task ActAsPatientAAsync(StandaloneHost host, string runA)
    {
        var checkInA = await SentMessageAsync(host, runA, "checkin", 0);
        for (var i = 0; i < 2; i++)
        {
            using var receipt = await InboundAsync(host, new { type = "receipt", providerMessageId = FollowUpHarness.NewId("p"), messageId = checkInA.MessageId, status = "delivered" });
            Assert.True(receipt.StatusCode == HttpStatusCode.OK, await receipt.Content.ReadAsStringAsync());
        }

        await AnswerAsync(host, await MessageAsync(host, runA, "phq-9-day-7", 0), [2, 2, 2, 2, 2, 2, 2, 2, 1]); // 17, item 9 > 0: red flag
        await AnswerAsync(host, await MessageAsync(host, runA, "phq-9-day-30", 0), [1, 1, 1, 1, 1, 1, 1, 1, 0]); // 8
    }

    /// <summary>
    /// C: STOP once the ignored check-in has been escalated (day 5), two protocol days before the day-7 PHQ-9, whose send
    /// then ends the run opted out; then a second discharge, whose run meets the opt-out at its first send. Returns that run.
    /// </summary>
    private static async Task<string> ActAsPatientCAsync(StandaloneHost host, string runC, string patientC, string phoneC)
    {
        await Poll.UntilAsync(() => FollowUpAsync(host, runC),
            r => r.GetProperty("history").EnumerateArray().Any(h => h.GetProperty("kind").GetString() == "escalated"),
            TimeSpan.FromSeconds((10 * SecondsPerDay) + 60), "C's check-in to be escalated");
        using (var stop = await InboundAsync(host, new { type = "reply", providerMessageId = FollowUpHarness.NewId("p"), from = phoneC, text = "STOP" }))
        {
            Assert.True(stop.StatusCode == HttpStatusCode.OK, await stop.Content.ReadAsStringAsync());
        }

        await PutAsync(host, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientC, DateTimeOffset.UtcNow));
        var runsOfC = await Poll.UntilAsync(() => RunsAsync(host, patientC), runs => runs.Count == 2, TimeSpan.FromSeconds(90), "C's second run to start");
        return runsOfC.Single(r => r != runC);
    }

    private static string NewPhone() => "+1555" + Random.Shared.Next(1000000, 9999999).ToString(CultureInfo.InvariantCulture);

    private static async Task<string> StartRunAsync(StandaloneHost host, string patientId, string language, string birthDate, string phone)
    {
        var patient = FollowUpHarness.Patient(patientId, language, phone);
        patient.BirthDate = birthDate;
        await PutAsync(host, patient);
        await PatientStore.WaitUntilStoredAsync(patientId);
        await PutAsync(host, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));
        var list = await Poll.UntilAsync(async () =>
        {
            using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
            using var response = await host.Client.SendAsync(request);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }, l => l.GetProperty("followUps").GetArrayLength() == 1, TimeSpan.FromSeconds(90), "the follow-up to start");
        return list.GetProperty("followUps")[0].GetProperty("instanceId").GetString()!;
    }

    private static async Task<List<string>> RunsAsync(StandaloneHost host, string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        var list = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. list.GetProperty("followUps").EnumerateArray().Select(r => r.GetProperty("instanceId").GetString()!)];
    }

    private static async Task PutAsync(StandaloneHost host, Resource resource)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/notifications/ehr1/{resource.TypeName}/{resource.Id}", UriKind.Relative))
        {
            Content = new StringContent(new FhirJsonSerializer().SerializeToString(resource), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", EhrSecret);
        using var response = await host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<HttpResponseMessage> InboundAsync(StandaloneHost host, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/inbound/sms", UriKind.Relative))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", SmsSecret);
        return await host.Client.SendAsync(request);
    }

    private static async Task<JsonElement> FollowUpAsync(StandaloneHost host, string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{instanceId}");
        using var response = await host.Client.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private sealed record OutboxRow(OutreachMessage Message, string Status);

    /// <summary>What the host's outbox holds (its own table): every message the runs and replies decided, with its status.</summary>
    private static async Task<List<OutboxRow>> OutboxAsync(StandaloneHost host)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, host.Settings["Engagement__Outbox__TableName"]);
        var rows = new List<OutboxRow>();
        try
        {
            await foreach (var row in table.QueryAsync<TableEntity>())
            {
                if (OutboxStore.IsPendingMarker(row.RowKey))
                {
                    continue;
                }

                rows.Add(new OutboxRow(JsonSerializer.Deserialize<OutreachMessage>(row.GetString("Body"))!, row.GetString("Status") ?? ""));
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
            // No message yet: the table is created with the first one.
        }

        return rows;
    }

    /// <summary>The run's message for one activity and attempt (0: the request, n: reminder n), once decided.</summary>
    private static async Task<OutreachMessage> MessageAsync(StandaloneHost host, string instanceId, string activityId, int attempt)
    {
        var row = await Poll.UntilAsync(
            async () => (await OutboxAsync(host)).Where(m => m.Message.InstanceId == instanceId && m.Message.ActivityId == activityId && m.Message.Channel != "clinician")
                .OrderBy(m => m.Message.CreatedAt).Skip(attempt).FirstOrDefault(),
            m => m is not null,
            TimeSpan.FromSeconds((35 * SecondsPerDay) + 60),
            $"the {activityId} message");
        return row!.Message;
    }

    /// <summary>As <see cref="MessageAsync"/>, once the dispatcher has handed it to the transport.</summary>
    private static async Task<OutreachMessage> SentMessageAsync(StandaloneHost host, string instanceId, string activityId, int attempt)
    {
        var message = await MessageAsync(host, instanceId, activityId, attempt);
        await Poll.UntilAsync(async () => (await OutboxAsync(host)).Single(m => m.Message.MessageId == message.MessageId).Status, s => s == OutboxStore.Sent,
            TimeSpan.FromSeconds(30), $"the {activityId} message to be dispatched");
        return message;
    }

    /// <summary>The patient opens the link (the page) and submits the PHQ-9 with these item values (0..3).</summary>
    private static async Task AnswerAsync(StandaloneHost host, OutreachMessage message, int[] values)
    {
        var link = message.Link ?? "";
        Assert.Contains("/engage/", link, StringComparison.Ordinal);
        var token = link[(link.LastIndexOf('/') + 1)..];
        var (status, _, page) = await LinkApi.PageAsync(host, token);
        page.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
        var items = string.Join(",", values.Select((value, i) =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[value]}}}"}}]}"""));
        using var content = new StringContent($$"""{"resourceType":"QuestionnaireResponse","status":"completed","item":[{{items}}]}""", Encoding.UTF8, "application/fhir+json");
        using var response = await host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }
}

[CollectionDefinition(Name)]
public sealed class EngagementScenarioCollection : ICollectionFixture<EngagementScenarioFixture>
{
    public const string Name = "engagement-scenario";
}

/// <summary>The known counts of <see cref="EngagementScenarioFixture"/> in <c>$engagement</c> and the metrics JSON.</summary>
[Collection(EngagementScenarioCollection.Name)]
public sealed class EngagementScenarioTests(EngagementScenarioFixture fixture)
{
    private static readonly FhirJsonDeserializer Parser = new();

    [Fact]
    public async Task Measures_of_a_seeded_scenario_match_its_known_counts_in_the_MeasureReports_and_the_metrics_json()
    {
        var host = fixture.Host;
        var (periodStart, periodEnd, period, patientA) = (fixture.PeriodStart, fixture.PeriodEnd, fixture.Period, fixture.PatientA);
        var (reportStatus, reportJson) = await GetAsync(host, "/api/fhir/MeasureReport/$engagement?" + period);
        Assert.Equal(HttpStatusCode.OK, reportStatus);
        // One summary MeasureReport (of the engagement-summary Measure), one group per engagement measure.
        var report = Parser.Deserialize<MeasureReport>(reportJson)!;
        Assert.Equal(MeasureReport.MeasureReportType.Summary, report.Type);
        Assert.Equal(["response-rate", "time-to-respond", "time-to-respond-p90", "follow-through", "reminders-per-response", "messages-delivered", "messages-failed",
                "links-opened", "opt-out-rate", "red-flag-acknowledgement-time", "score-change"],
            report.Group.Select(g => g.Code!.Coding[0].Code));
        Assert.Equal((periodStart, periodEnd), (report.Period.Start, report.Period.End));
        var result = ProfileValidator.Shared.Validate(report, "http://engagement-functions.org/fhir/StructureDefinition/engagement-measurereport");
        Assert.True(result.IsValid, string.Join("\n", result.Errors));

        // 7 questionnaire requests (A 3, B 3, C 1: every activity links a Questionnaire), 2 answered (A's PHQ-9s).
        var responseRate = Group(report, "response-rate");
        Assert.Equal((7, 7, 2), Populations(responseRate));
        Assert.Equal(Proportion(2, 7), responseRate.MeasureScore!.Value);
        Assert.Equal((4, 4, 2), StratumPopulations(responseRate, "language", "en"));
        Assert.Equal((3, 3, 0), StratumPopulations(responseRate, "language", "es"));
        Assert.Equal((3, 3, 2), StratumPopulations(responseRate, "age-band", "65-79"));
        Assert.Equal((1, 1, 0), StratumPopulations(responseRate, "age-band", "40-64"));
        Assert.Equal((3, 3, 0), StratumPopulations(responseRate, "age-band", "18-39"));
        Assert.Equal((7, 7, 2), StratumPopulations(responseRate, "channel", "sms"));
        Assert.Equal(Proportion(2, 3), StratumScore(responseRate, "age-band", "65-79"));
        // Per Questionnaire: the day-2 check-ins (A, B, C) went unanswered; 2 of the 4 PHQ-9s (A's) were answered.
        Assert.Equal((4, 4, 2), StratumPopulations(responseRate, "questionnaire", EngagementScenarioFixture.Phq9));
        Assert.Equal((3, 3, 0), StratumPopulations(responseRate, "questionnaire", "http://engagement-functions.org/fhir/Questionnaire/post-discharge-checkin"));
        Assert.Equal(Proportion(2, 4), StratumScore(responseRate, "questionnaire", EngagementScenarioFixture.Phq9));

        // Both answers came within the minute of their request: the first histogram bin, whose upper edge (1 min) is the median.
        var timeToRespond = Group(report, "time-to-respond");
        Assert.Equal((7, 2), (Count(timeToRespond, "initial-population"), Count(timeToRespond, "measure-population")));
        Assert.Equal("h", timeToRespond.MeasureScore!.Unit);
        Assert.Equal((decimal)(1.0 / 60), timeToRespond.MeasureScore.Value);
        var timeToRespondP90 = Group(report, "time-to-respond-p90");
        Assert.Equal((7, 2), (Count(timeToRespondP90, "initial-population"), Count(timeToRespondP90, "measure-population")));
        Assert.Equal((decimal)(1.0 / 60), timeToRespondP90.MeasureScore!.Value);

        var followThrough = Group(report, "follow-through");
        Assert.Equal((7, 7, 2), Populations(followThrough));
        Assert.Equal(Proportion(2, 7), followThrough.MeasureScore!.Value);

        // 10 reminders (A's and C's check-ins 2 each, B's three activities 2 each) for 2 responses.
        var reminders = Group(report, "reminders-per-response");
        Assert.Equal((7, 2, 10), Populations(reminders));
        Assert.Equal(5m, reminders.MeasureScore!.Value);

        // 18 patient messages: A 5 (check-in + 2 reminders, two PHQ-9s), B 9, C 3 (check-in + 2 reminders), C's STOP
        // confirmation; 1 delivered.
        var delivered = Group(report, "messages-delivered");
        Assert.Equal((18, 18, 1), Populations(delivered));
        Assert.Equal(Proportion(1, 18), delivered.MeasureScore!.Value);
        Assert.Equal((5, 5, 1), StratumPopulations(delivered, "age-band", "65-79"));
        Assert.Equal((9, 9, 0), StratumPopulations(delivered, "age-band", "18-39"));
        Assert.Equal((3, 3, 0), StratumPopulations(delivered, "age-band", "40-64"));
        Assert.Equal((1, 1, 0), StratumPopulations(delivered, "age-band", "unknown")); // the confirmation belongs to no run
        Assert.Equal((9, 9, 1), StratumPopulations(delivered, "language", "en"));
        Assert.Equal((9, 9, 0), StratumPopulations(delivered, "language", "es"));
        Assert.Equal((18, 18, 0), Populations(Group(report, "messages-failed")));

        // 17 links sent (7 requests, 10 reminders: each message its own link), 2 opened (A's two PHQ-9s).
        var links = Group(report, "links-opened");
        Assert.Equal((17, 17, 2), Populations(links));
        Assert.Equal(Proportion(2, 17), links.MeasureScore!.Value);
        Assert.Equal((5, 5, 2), StratumPopulations(links, "age-band", "65-79")); // A: the check-in, its 2 reminders, two PHQ-9s
        Assert.Equal((9, 9, 0), StratumPopulations(links, "age-band", "18-39"));

        // 3 runs reached their patient, 1 opted out (C's second run reached nobody: in neither population).
        var optOut = Group(report, "opt-out-rate");
        Assert.Equal((3, 3, 1), Populations(optOut));
        Assert.Equal(Proportion(1, 3), optOut.MeasureScore!.Value);
        Assert.Equal((1, 1, 1), StratumPopulations(optOut, "age-band", "40-64"));
        Assert.Equal((1, 1, 0), StratumPopulations(optOut, "age-band", "65-79"));

        // One red flag, acknowledged in the EHR 2 minutes after it was raised: the bin up to 5 minutes.
        var redFlags = Group(report, "red-flag-acknowledgement-time");
        Assert.Equal((1, 1), (Count(redFlags, "initial-population"), Count(redFlags, "measure-population")));
        Assert.Equal(("min", 5m), (redFlags.MeasureScore!.Unit, redFlags.MeasureScore.Value));

        // Score change: A's PHQ-9 went 17 → 8, the only scored patient (initial and measure population 1, mean −9 points).
        var scoreChange = Group(report, "score-change");
        Assert.Equal((1, 1), (Count(scoreChange, "initial-population"), Count(scoreChange, "measure-population")));
        Assert.Equal(("score points", -9m), (scoreChange.MeasureScore!.Unit, scoreChange.MeasureScore.Value));
        Assert.Equal(-9m, StratumScore(scoreChange, "questionnaire", EngagementScenarioFixture.Phq9));

        // The same aggregates as JSON for the dashboard.
        var (status, json) = await GetAsync(host, "/api/metrics/engagement?" + period);
        Assert.Equal(HttpStatusCode.OK, status);
        var metrics = JsonDocument.Parse(json).RootElement;
        var totals = metrics.GetProperty("totals");
        var expectedTotals = new Dictionary<string, long>
        {
            ["message-sent"] = 18,
            ["message-delivered"] = 1,
            ["message-failed"] = 0,
            ["link-opened"] = 2,
            ["engaged"] = 3,
            ["activity-due"] = 7,
            ["response-received"] = 2,
            ["completed-on-time"] = 2,
            ["reminder-sent"] = 10,
            ["escalation-raised"] = 5,
            ["escalation-acknowledged"] = 1,
            ["red-flag-raised"] = 1,
            ["red-flag-acknowledged"] = 1,
            ["opt-out"] = 1,
        };
        Assert.Equal(expectedTotals, totals.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64()));
        var measures = metrics.GetProperty("measures").EnumerateArray().ToDictionary(m => m.GetProperty("code").GetString()!);
        Assert.Equal(Math.Round(2.0 / 7, 4), measures["response-rate"].GetProperty("score").GetDouble());
        Assert.Equal(Math.Round(1.0 / 3, 4), measures["opt-out-rate"].GetProperty("score").GetDouble());
        Assert.Equal(5, measures["reminders-per-response"].GetProperty("score").GetDouble());
        var timeToRespondJson = metrics.GetProperty("timeToRespond");
        Assert.Equal(new long[] { 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, timeToRespondJson.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()).ToArray());
        Assert.Equal(1, timeToRespondJson.GetProperty("medianMinutes").GetDouble());
        Assert.Equal(1, timeToRespondJson.GetProperty("p90Minutes").GetDouble());
        var daily = metrics.GetProperty("daily").EnumerateArray().ToList();
        Assert.Equal(7, daily.Sum(d => d.GetProperty("requests").GetInt64()));
        Assert.Equal(2, daily.Sum(d => d.GetProperty("responses").GetInt64()));
        Assert.Equal(18, daily.Sum(d => d.GetProperty("messagesSent").GetInt64()));

        // 5 escalations and the red flag; B's first escalation and the red flag were acknowledged: 4 open, all of this protocol.
        var open = metrics.GetProperty("openEscalations").EnumerateArray().ToList();
        Assert.Equal(4, open.Count(o => o.GetProperty("kind").GetString() == "escalation"));
        Assert.Equal(0, open.Count(o => o.GetProperty("kind").GetString() == "red-flag"));
        Assert.All(open, o => Assert.Equal("post-discharge", o.GetProperty("protocol").GetString()));

        // PHQ-9 score trend: one patient, 17 then 8.
        var trend = Assert.Single(metrics.GetProperty("scoreTrends").EnumerateArray());
        Assert.Equal(EngagementScenarioFixture.Phq9, trend.GetProperty("questionnaire").GetString());
        Assert.Equal((1, 1, 1, 0), (trend.GetProperty("patients").GetInt32(), trend.GetProperty("patientsWithRepeat").GetInt32(), trend.GetProperty("improved").GetInt32(), trend.GetProperty("worsened").GetInt32()));
        Assert.Equal(-9, trend.GetProperty("meanChange").GetDouble());
        var scores = Assert.Single(trend.GetProperty("patientScores").EnumerateArray());
        Assert.Equal((patientA, 17.0, 8.0, 2), (scores.GetProperty("patient").GetString(), scores.GetProperty("first").GetDouble(), scores.GetProperty("last").GetDouble(), scores.GetProperty("responses").GetInt32()));

        var followThroughJson = Assert.Single(metrics.GetProperty("followThrough").EnumerateArray());
        Assert.Equal(("post-discharge", 7, 2), (followThroughJson.GetProperty("protocol").GetString(), followThroughJson.GetProperty("due").GetInt64(), followThroughJson.GetProperty("onTime").GetInt64()));

        // One protocol: post-discharge has all of it but the confirmation (a reply belongs to no protocol); another has none.
        var same = Parser.Deserialize<MeasureReport>((await GetAsync(host, $"/api/fhir/MeasureReport/$engagement?{period}&protocol=PlanDefinition/post-discharge")).Body)!;
        Assert.Equal((7, 7, 2), Populations(Group(same, "response-rate")));
        Assert.Equal((17, 17, 1), Populations(Group(same, "messages-delivered")));
        Assert.Equal("PlanDefinition/post-discharge", same.EvaluatedResource.Single().Reference);
        var other = Parser.Deserialize<MeasureReport>((await GetAsync(host, $"/api/fhir/MeasureReport/$engagement?{period}&protocol=appointment-reminder")).Body)!;
        Assert.All(other.Group, g => Assert.Equal(0, g.Population.Sum(p => p.Count ?? 0)));
        var (_, otherJson) = await GetAsync(host, $"/api/metrics/engagement?{period}&protocol=appointment-reminder");
        Assert.All(JsonDocument.Parse(otherJson).RootElement.GetProperty("totals").EnumerateObject(), p => Assert.Equal(0, p.Value.GetInt64()));

        // A period without the scenario's days has none of it.
        var (_, earlierJson) = await GetAsync(host, "/api/metrics/engagement?periodStart=2020-01-01&periodEnd=2020-12-31");
        Assert.Equal(0, JsonDocument.Parse(earlierJson).RootElement.GetProperty("totals").GetProperty("message-sent").GetInt64());
        Assert.Equal(0, JsonDocument.Parse(earlierJson).RootElement.GetProperty("scoreTrends").GetArrayLength());
        var earlier = Parser.Deserialize<MeasureReport>((await GetAsync(host, "/api/fhir/MeasureReport/$engagement?periodStart=2020-01-01&periodEnd=2020-12-31")).Body)!;
        var noScores = Group(earlier, "score-change");
        Assert.Equal((0, 0, null), (Count(noScores, "initial-population"), Count(noScores, "measure-population"), noScores.MeasureScore));
    }

    private static decimal Proportion(int numerator, int denominator) => (decimal)Math.Round((double)numerator / denominator, 4);

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(StandaloneHost host, string path)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, path);
        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static MeasureReport.GroupComponent Group(MeasureReport report, string code) =>
        report.Group.Single(g => g.Code!.Coding[0].Code == code);

    private static int? Count(MeasureReport.GroupComponent group, string population) =>
        group.Population.Single(p => p.Code!.Coding[0].Code == population).Count;

    private static (int?, int?, int?) Populations(MeasureReport.GroupComponent group) =>
        (Count(group, "initial-population"), Count(group, "denominator"), Count(group, "numerator"));

    private static MeasureReport.StratifierGroupComponent Stratum(MeasureReport.GroupComponent group, string dimension, string value) =>
        group.Stratifier.Single(s => s.Code[0].Coding[0].Code == dimension).Stratum.Single(s => s.Value!.Text == value);

    private static (int?, int?, int?) StratumPopulations(MeasureReport.GroupComponent group, string dimension, string value)
    {
        var stratum = Stratum(group, dimension, value);
        int? Of(string code) => stratum.Population.Single(p => p.Code!.Coding[0].Code == code).Count;
        return (Of("initial-population"), Of("denominator"), Of("numerator"));
    }

    private static decimal? StratumScore(MeasureReport.GroupComponent group, string dimension, string value) =>
        Stratum(group, dimension, value).MeasureScore?.Value;
}
