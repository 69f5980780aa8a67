using System.Net;
using System.Text;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Preferences;

/// <summary>
/// "Your preferences" and "Your follow-ups" on the engagement page in headless Chromium at a 375 px phone viewport
/// (<c>Page/engage-page.mjs</c>): a patient changes a preference through the controls, and the stored result is
/// checked through the API and on the Patient the follow-up engine reads.
/// </summary>
[Collection(PreferencesCollection.Name)]
public sealed class PreferencesPageTests(PreferencesFixture fixture)
{
    private static readonly string[] EnglishChannels = ["Text message (SMS)", "Email", "Notification in the app", "Patient portal"];
    private static readonly string[] SpanishChannels = ["Mensaje de texto (SMS)", "Notificación en la aplicación", "Portal del paciente"];
    private static readonly int[] Mild = [1, 1, 1, 1, 2, 1, 0, 1, 0];

    private StandaloneHost Host => fixture.Host;

    [Fact]
    public async Task A_patient_changes_channel_language_and_contact_window_on_the_page_and_the_Patient_is_updated()
    {
        var patient = PreferencesFixture.NewPatient();
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));

        var page = await BrowseAsync(new
        {
            url = link.Url.ToString(),
            preferences = new { channel = "email", language = "es", start = "08:00", end = "17:30" },
            prefsScreenshot = TestEnvironment.ScreenshotPath("engagement-page-preferences.png"),
        });

        Assert.Equal("form", page.GetProperty("mode").GetString());
        Assert.True(page.GetProperty("prefsVisible").GetBoolean());
        Assert.Equal(EnglishChannels, page.GetProperty("channelLabels").EnumerateArray().Select(l => l.GetString()!));
        Assert.Equal("sms", page.GetProperty("checkedChannel").GetString());
        Assert.Contains(PreferencesFixture.Zone, page.GetProperty("zoneText").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, page.GetProperty("unlabelled").GetArrayLength());
        Assert.True(page.GetProperty("prefsSaved").GetBoolean(), page.ToString());
        Assert.Contains("Your preferences are saved", page.GetProperty("prefsStatus").GetString(), StringComparison.Ordinal);
        Assert.True(page.GetProperty("scrollWidth").GetInt32() <= 375, "the page scrolls sideways at 375 px");
        Assert.All(page.GetProperty("requests").EnumerateArray(), h => Assert.Equal(Host.BaseAddress.Authority, h.GetString()));

        var (status, stored) = await fixture.GetPreferencesAsync(link.Token);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("email", stored.GetProperty("channel").GetString());
        Assert.Equal("es", stored.GetProperty("language").GetString());
        Assert.Equal("08:00", stored.GetProperty("contactWindow").GetProperty("start").GetString());
        Assert.Equal("17:30", stored.GetProperty("contactWindow").GetProperty("end").GetString());
        var resource = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Equal("es", Assert.Single(resource.Communication, c => c.Preferred == true).Language.Coding[0].Code);
    }

    [Fact]
    public async Task After_answering_the_page_is_in_the_patients_language_shows_the_explained_score_and_refuses_a_backwards_window()
    {
        var patient = PreferencesFixture.NewPatient(language: "es", email: false);
        await fixture.StorePatientAsync(patient);
        var link = await LinkApi.IssueAsync(Host, patient.Id!, PreferencesFixture.NewId("task"));
        using (var content = new StringContent(PreferencesFixture.Phq9(Mild), Encoding.UTF8, "application/fhir+json"))
        using (var submitted = await Host.Client.PostAsync(new Uri($"/api/engage/{link.Token}/response", UriKind.Relative), content))
        {
            Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        }

        var page = await BrowseAsync(new { url = link.Url.ToString(), preferences = new { start = "18:00", end = "07:00" } });

        Assert.Equal(410, page.GetProperty("status").GetInt32()); // the link is used, as the contract says; the page still works
        Assert.Equal("es", page.GetProperty("lang").GetString());
        Assert.Equal("answered", page.GetProperty("mode").GetString());
        Assert.Equal("Ya recibimos sus respuestas", page.GetProperty("title").GetString());
        Assert.Equal(SpanishChannels, page.GetProperty("channelLabels").EnumerateArray().Select(l => l.GetString()!));
        var followUps = page.GetProperty("followUpsText").GetString()!;
        Assert.Contains("Sus respuestas hasta ahora", followUps, StringComparison.Ordinal);
        Assert.Contains("Su puntuación total del PHQ-9 fue 8", followUps, StringComparison.Ordinal);
        Assert.Contains("síntomas leves", followUps, StringComparison.Ordinal);
        Assert.DoesNotContain(patient.Id!, page.GetProperty("body").GetString(), StringComparison.Ordinal);

        Assert.False(page.GetProperty("prefsSaved").GetBoolean());
        Assert.Contains("La hora de fin debe ser posterior", page.GetProperty("prefsErrors").GetString(), StringComparison.Ordinal);
        Assert.Equal("engage-prefs-errors", page.GetProperty("prefsFocused").GetString());
        var resource = await PreferencesFixture.StoredPatientAsync(patient.Id!);
        Assert.Null(resource.GetExtension("http://engagement-functions.org/fhir/StructureDefinition/contact-window"));
    }

    private static Task<JsonElement> BrowseAsync(object input) => BrowserScript.RunAsync("Page/engage-page.mjs", input);
}
