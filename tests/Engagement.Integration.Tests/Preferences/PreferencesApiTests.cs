using System.Net;
using System.Text;
using System.Text.Json;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Preferences;

/// <summary>
/// <c>GET</c>/<c>PUT /api/engage/{token}/preferences</c> and <c>GET /api/engage/{token}/overview</c> through the
/// standalone host on Azurite: the token alone authorises, a used link still works, expired/revoked/forged links and
/// bad input are refused with an OperationOutcome and write nothing, and a change decides the next message of a
/// running follow-up.
/// </summary>
[Collection(PreferencesCollection.Name)]
public sealed class PreferencesApiTests(PreferencesFixture fixture)
{
    private const string PreferredChannelUrl = "http://engagement-functions.org/fhir/StructureDefinition/preferred-channel";
    private const string ContactWindowUrl = "http://engagement-functions.org/fhir/StructureDefinition/contact-window";

    private static readonly string[] SmsPushPortal = ["sms", "push", "portal"];
    private static readonly string[] EnglishSpanish = ["en", "es"];
    private static readonly string[] UpcomingStatuses = ["scheduled", "open"];

    private StandaloneHost Host => fixture.Host;

    [Fact]
    public async Task The_patient_sees_their_preferences_and_only_the_channels_they_can_be_reached_on()
    {
        var patient = PreferencesFixture.NewPatient(email: false);
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));

        var (status, body) = await fixture.GetPreferencesAsync(link.Token);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("known").GetBoolean());
        Assert.Equal("sms", body.GetProperty("channel").GetString());
        Assert.Equal(SmsPushPortal, body.GetProperty("channels").EnumerateArray().Select(c => c.GetString()!));
        Assert.Equal("en", body.GetProperty("language").GetString());
        Assert.Equal(EnglishSpanish, body.GetProperty("languages").EnumerateArray().Select(c => c.GetString()!));
        Assert.Equal("00:00", body.GetProperty("contactWindow").GetProperty("start").GetString());
        Assert.Equal(PreferencesFixture.Zone, body.GetProperty("timeZone").GetString());
        // No contact details or ids go to the page.
        Assert.DoesNotContain(patient.Telecom[0].Value!, body.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain(patient.Id!, body.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_change_is_stored_on_the_Patient_as_our_extensions_and_the_preferred_language()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));

        var (status, body) = await fixture.PutPreferencesAsync(link.Token, """{"channel":"email","language":"es","contactWindow":{"start":"08:30","end":"18:00"}}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("email", body.GetProperty("channel").GetString());
        Assert.Equal("es", body.GetProperty("language").GetString());
        Assert.Equal("08:30", body.GetProperty("contactWindow").GetProperty("start").GetString());
        Assert.Equal("18:00", body.GetProperty("contactWindow").GetProperty("end").GetString());
        var stored = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Equal("email", stored.GetExtensionValue<Code>(PreferredChannelUrl).Value);
        var window = stored.GetExtension(ContactWindowUrl);
        Assert.Equal("08:30:00", window.GetExtensionValue<Time>("start").Value);
        Assert.Equal("18:00:00", window.GetExtensionValue<Time>("end").Value);
        var preferred = Assert.Single(stored.Communication, c => c.Preferred == true);
        Assert.Equal("es", preferred.Language.Coding[0].Code);
        Assert.Equal(patient.Telecom.Count, stored.Telecom.Count);

        // A partial change keeps the rest; GET shows what was stored.
        Assert.Equal(HttpStatusCode.OK, (await fixture.PutPreferencesAsync(link.Token, """{"channel":"sms"}""")).Status);
        var (_, again) = await fixture.GetPreferencesAsync(link.Token);
        Assert.Equal("sms", again.GetProperty("channel").GetString());
        Assert.Equal("es", again.GetProperty("language").GetString());
        Assert.Equal("08:30", again.GetProperty("contactWindow").GetProperty("start").GetString());
    }

    [Theory]
    [InlineData("""{"channel":"fax"}""", HttpStatusCode.UnprocessableEntity, "Unknown channel 'fax'")]
    [InlineData("""{"channel":"email"}""", HttpStatusCode.UnprocessableEntity, "no email contact")]
    [InlineData("""{"channel":5}""", HttpStatusCode.UnprocessableEntity, "channel must be a string")]
    [InlineData("""{"language":"fr"}""", HttpStatusCode.UnprocessableEntity, "Unknown language 'fr'")]
    [InlineData("""{"language":"es-XX"}""", HttpStatusCode.UnprocessableEntity, "Unknown language")]
    [InlineData("""{"contactWindow":{"start":"20:00","end":"08:00"}}""", HttpStatusCode.UnprocessableEntity, "must end after it starts")]
    [InlineData("""{"contactWindow":{"start":"09:00","end":"09:00"}}""", HttpStatusCode.UnprocessableEntity, "must end after it starts")]
    [InlineData("""{"contactWindow":{"start":"25:00","end":"26:00"}}""", HttpStatusCode.UnprocessableEntity, "local time HH:mm")]
    [InlineData("""{"contactWindow":{"start":"9am","end":"5pm"}}""", HttpStatusCode.UnprocessableEntity, "local time HH:mm")]
    [InlineData("""{"contactWindow":{"start":"09:00"}}""", HttpStatusCode.UnprocessableEntity, "needs both start and end")]
    [InlineData("""{"contactWindow":"09:00-17:00"}""", HttpStatusCode.UnprocessableEntity, "must be an object")]
    [InlineData("""{"telecom":"+15550000000"}""", HttpStatusCode.UnprocessableEntity, "Unknown property 'telecom'")]
    [InlineData("""{}""", HttpStatusCode.UnprocessableEntity, "Nothing to change")]
    [InlineData("""["sms"]""", HttpStatusCode.BadRequest, "must be a JSON object")]
    [InlineData("""{"channel":""", HttpStatusCode.BadRequest, "not valid JSON")]
    [InlineData("", HttpStatusCode.BadRequest, "not valid JSON")]
    public async Task Bad_input_is_refused_with_an_OperationOutcome_and_nothing_is_written(string json, HttpStatusCode expected, string diagnostics)
    {
        var patient = PreferencesFixture.NewPatient(email: false);
        await fixture.StorePatientAsync(patient);
        var before = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));

        var (status, body) = await fixture.PutPreferencesAsync(link.Token, json);

        Assert.Equal(expected, status);
        Assert.Equal("OperationOutcome", body.GetProperty("resourceType").GetString());
        Assert.Contains(diagnostics, body.GetProperty("issue")[0].GetProperty("diagnostics").GetString(), StringComparison.Ordinal);
        var after = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Equal(before.Meta?.VersionId, after.Meta?.VersionId);
        Assert.Null(after.GetExtension(PreferredChannelUrl));
        Assert.Null(after.GetExtension(ContactWindowUrl));
        Assert.Equal("en", Assert.Single(after.Communication).Language.Coding[0].Code);
    }

    [Fact]
    public async Task A_change_made_on_the_page_survives_the_EHRs_next_version_of_the_Patient()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));
        Assert.Equal(HttpStatusCode.OK, (await fixture.PutPreferencesAsync(link.Token, """{"channel":"email","contactWindow":{"start":"07:15","end":"19:45"}}""")).Status);

        // The EHR sends a new version (a new phone number); it knows nothing of the page's choices.
        patient.Telecom[0].Value = "+15550001111";
        await fixture.PutFromEhrAsync(patient);
        await Poll.UntilAsync(
            () => PreferencesFixture.StoredPatientAsync(patient.Id!),
            p => p.Telecom.Any(t => t.Value == "+15550001111"),
            TimeSpan.FromSeconds(30),
            "the EHR's new version to be stored");

        var stored = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Equal("email", stored.GetExtensionValue<Code>(PreferredChannelUrl).Value);
        Assert.Equal("07:15:00", stored.GetExtension(ContactWindowUrl).GetExtensionValue<Time>("start").Value);
        var (_, body) = await fixture.GetPreferencesAsync(link.Token);
        Assert.Equal("email", body.GetProperty("channel").GetString());
        Assert.Equal("19:45", body.GetProperty("contactWindow").GetProperty("end").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415_and_a_patient_we_do_not_hold_is_404()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));
        var (wrongType, outcome) = await fixture.PutPreferencesAsync(link.Token, "channel=sms", "application/x-www-form-urlencoded");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType);
        Assert.Equal("OperationOutcome", outcome.GetProperty("resourceType").GetString());

        var unknown = await LinkApi.IssueAsync(Host, PreferencesFixture.NewId("pat"), PreferencesFixture.NewId("task"));
        var (shown, body) = await fixture.GetPreferencesAsync(unknown.Token);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.False(body.GetProperty("known").GetBoolean());
        Assert.Equal(0, body.GetProperty("channels").GetArrayLength());
        var (changed, _) = await fixture.PutPreferencesAsync(unknown.Token, """{"language":"es"}""");
        Assert.Equal(HttpStatusCode.NotFound, changed);
    }

    [Theory]
    [InlineData("expired", HttpStatusCode.Gone, "expired")]
    [InlineData("revoked", HttpStatusCode.Gone, "revoked")]
    [InlineData("forged", HttpStatusCode.Unauthorized, "not valid")]
    public async Task Expired_revoked_and_forged_links_are_refused_on_every_preferences_route_as_on_the_page(string kind, HttpStatusCode expected, string diagnostics)
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"), lifetimeSeconds: kind == "expired" ? 1 : null);
        var token = link.Token;
        switch (kind)
        {
            case "expired":
                await Task.Delay(TimeSpan.FromSeconds(1.5));
                break;
            case "revoked":
                Assert.Equal(HttpStatusCode.NoContent, await LinkApi.RevokeAsync(Host, link.LinkId));
                break;
            default:
                token = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
                break;
        }

        foreach (var (status, body) in new[]
        {
            await fixture.GetPreferencesAsync(token),
            await fixture.PutPreferencesAsync(token, """{"language":"es"}"""),
            await fixture.OverviewAsync(token, "en"),
        })
        {
            Assert.Equal(expected, status);
            Assert.Equal("OperationOutcome", body.GetProperty("resourceType").GetString());
            Assert.Contains(diagnostics, body.GetProperty("issue")[0].GetProperty("diagnostics").GetString(), StringComparison.Ordinal);
        }

        var (page, _, response) = await LinkApi.PageAsync(Host, token);
        response.Dispose();
        Assert.Equal(expected, page);
        var stored = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Equal("en", Assert.Single(stored.Communication).Language.Coding[0].Code);
    }

    [Fact]
    public async Task After_the_one_submission_preferences_and_the_overview_still_work_and_the_score_is_explained()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));
        using (var content = new StringContent(PreferencesFixture.Phq9(1, 1, 1, 1, 2, 1, 0, 1, 0), Encoding.UTF8, "application/fhir+json"))
        using (var submitted = await Host.Client.PostAsync(new Uri($"/api/engage/{link.Token}/response", UriKind.Relative), content))
        {
            Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Gone, await LinkApi.UseAsync(Host, link.Token));
        Assert.Equal(HttpStatusCode.OK, (await fixture.GetPreferencesAsync(link.Token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await fixture.PutPreferencesAsync(link.Token, """{"contactWindow":{"start":"10:00","end":"19:00"}}""")).Status);

        var (status, overview) = await fixture.OverviewAsync(link.Token, "en");
        Assert.Equal(HttpStatusCode.OK, status);
        var response = Assert.Single(overview.GetProperty("responses").EnumerateArray());
        Assert.Equal("PHQ-9", response.GetProperty("title").GetString());
        Assert.Equal(8m, response.GetProperty("score").GetDecimal());
        Assert.Equal("mild", response.GetProperty("band").GetString());
        Assert.Equal(
            "Your PHQ-9 total score was 8 (scores go from 0 to 27). A score from 5 to 9 suggests mild symptoms. This is not a diagnosis: your care team looks at it together with everything else they know about you.",
            response.GetProperty("explanation").GetString());
        // Shown in the patient's zone (America/Chicago is UTC-6 in winter, UTC-5 in summer).
        var authored = response.GetProperty("authored").GetDateTimeOffset();
        Assert.Equal(TimeZoneInfo.FindSystemTimeZoneById(PreferencesFixture.Zone).GetUtcOffset(authored), authored.Offset);
        Assert.Equal(PreferencesFixture.Zone, overview.GetProperty("timeZone").GetString());

        var (_, spanish) = await fixture.OverviewAsync(link.Token, "es");
        Assert.StartsWith("Su puntuación total del PHQ-9 fue 8 (las puntuaciones van de 0 a 27). Una puntuación de 5 a 9 indica síntomas leves.",
            spanish.GetProperty("responses")[0].GetProperty("explanation").GetString(), StringComparison.Ordinal);
        Assert.Equal("es", spanish.GetProperty("language").GetString());
    }

    [Fact]
    public async Task Changing_the_language_on_the_page_makes_the_next_message_of_the_running_follow_up_Spanish()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        await fixture.PutFromEhrAsync(FollowUpHarness.InpatientDischarge(PreferencesFixture.NewId("enc"), patient.Id!, DateTimeOffset.UtcNow));
        var runs = await Poll.UntilAsync(() => fixture.FollowUpsAsync(patient.Id!), l => l.GetProperty("followUps").GetArrayLength() == 1, TimeSpan.FromSeconds(60), "the follow-up to start");
        var instanceId = runs.GetProperty("followUps")[0].GetProperty("instanceId").GetString()!;
        try
        {
            // The day-2 check-in goes out in English, with the patient's engagement link.
            var first = (await Poll.UntilAsync(() => fixture.OutboxAsync(patient.Id!), m => m.Exists(x => x.TemplateCode == "questionnaire"), TimeSpan.FromSeconds(90), "the check-in"))
                .OrderBy(x => x.CreatedAt).First(x => x.TemplateCode == "questionnaire");
            Assert.Equal("en", first.Language);
            var token = new Uri(first.Link!).Segments[^1];

            // Upcoming follow-ups, titles only, in the patient's zone. How far the run has got by now depends on the
            // durable engine's polling on a busy machine; the day-30 PHQ-9 (300 s away on this clock) is surely planned.
            var (_, overview) = await fixture.OverviewAsync(token, "en");
            var upcoming = overview.GetProperty("upcoming").EnumerateArray().ToList();
            Assert.Equal("PHQ-9", upcoming[^1].GetProperty("title").GetString());
            Assert.Equal("scheduled", upcoming[^1].GetProperty("status").GetString());
            Assert.All(upcoming, u => Assert.Contains(u.GetProperty("status").GetString(), UpcomingStatuses));
            Assert.All(upcoming, u => Assert.Equal(
                TimeZoneInfo.FindSystemTimeZoneById(PreferencesFixture.Zone).GetUtcOffset(u.GetProperty("due").GetDateTimeOffset()),
                u.GetProperty("due").GetDateTimeOffset().Offset));
            Assert.DoesNotContain("Day 2 check-in", overview.GetRawText(), StringComparison.Ordinal); // the protocol's step names stay internal

            var beforeChange = DateTimeOffset.UtcNow;
            var (status, _) = await fixture.PutPreferencesAsync(token, """{"language":"es"}""");
            Assert.Equal(HttpStatusCode.OK, status);
            var changedAt = DateTimeOffset.UtcNow;

            // Every message the run decides after the change is Spanish (the next one is a reminder or, on a slow
            // machine that compressed the protocol, the day-7 PHQ-9); what went before it was English.
            // (Escalations to the care team are not the patient's messages.)
            var after = (await Poll.UntilAsync(() => fixture.OutboxAsync(patient.Id!), m => m.Exists(x => x.CreatedAt > changedAt && x.Channel != "clinician"), TimeSpan.FromSeconds(120), "the next message"))
                .Where(x => x.CreatedAt > changedAt && x.Channel != "clinician").OrderBy(x => x.CreatedAt).ToList();
            Assert.All(after, m => Assert.Equal("es", m.Language));
            Assert.Matches("^(Recordatorio|Su equipo de atención)", after[0].Text);
            Assert.All((await fixture.OutboxAsync(patient.Id!)).Where(x => x.CreatedAt < beforeChange && x.Channel != "clinician"), m => Assert.Equal("en", m.Language));
        }
        finally
        {
            await fixture.CancelAsync(instanceId);
        }
    }
}
