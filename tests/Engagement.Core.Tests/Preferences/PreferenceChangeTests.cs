using System.Globalization;
using System.Text;
using Engagement.FollowUp;
using Engagement.Outcomes;
using Engagement.Preferences;
using Hl7.Fhir.Model;

namespace Engagement.Core.Tests.Preferences;

public class PreferenceChangeTests
{
    private static readonly string[] Languages = ["en", "es"];
    private static readonly PreferenceDefaults Defaults = new() { TimeZone = "UTC", Language = "en" };

    private static PreferenceChange Parse(string json)
    {
        var (change, malformed, invalid) = PreferenceChange.Parse(Encoding.UTF8.GetBytes(json), Languages);
        Assert.Null(malformed);
        Assert.Null(invalid);
        return change!;
    }

    private static Patient EnglishSpeakerWithSpanishToo() => new()
    {
        Id = "p1",
        Telecom =
        [
            new ContactPoint(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Mobile, "+15550100") { Rank = 1 },
            new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, "p1@example.test") { Rank = 2 },
        ],
        Communication =
        [
            new Patient.CommunicationComponent { Language = new CodeableConcept("urn:ietf:bcp:47", "en"), Preferred = true },
            new Patient.CommunicationComponent { Language = new CodeableConcept("urn:ietf:bcp:47", "es-MX") },
        ],
    };

    [Fact]
    public void What_the_page_writes_is_what_the_follow_up_engine_reads()
    {
        var patient = EnglishSpeakerWithSpanishToo();

        Parse("""{"channel":"email","language":"ES","contactWindow":{"start":"08:30","end":"18:00:00"}}""").ApplyTo(patient);
        var preferences = PatientPreferences.From(patient, Defaults);

        Assert.Equal("email", preferences.PreferredChannel);
        Assert.Equal("es-MX", preferences.Language); // the patient's own Spanish entry becomes the preferred one
        Assert.Equal(new ContactWindow(new TimeOnly(8, 30), new TimeOnly(18, 0)), preferences.ContactWindow);
        Assert.Single(patient.Communication, c => c.Preferred == true);
        Assert.Equal(2, patient.Communication.Count);
        Assert.False(patient.Communication[0].Preferred);
    }

    [Fact]
    public void A_language_the_patient_does_not_list_is_added_and_a_window_replaces_the_old_one()
    {
        var patient = new Patient { Id = "p2" };
        Parse("""{"contactWindow":{"start":"09:00","end":"17:00"}}""").ApplyTo(patient);
        Parse("""{"language":"es","contactWindow":{"start":"10:00","end":"12:00"}}""").ApplyTo(patient);

        var communication = Assert.Single(patient.Communication);
        Assert.True(communication.Preferred);
        Assert.Equal("urn:ietf:bcp:47", communication.Language.Coding[0].System);
        Assert.Equal("es", communication.Language.Coding[0].Code);
        Assert.Single(patient.Extension, e => e.Url == "http://engagement-functions.org/fhir/StructureDefinition/contact-window");
        Assert.Equal(new TimeOnly(10, 0), PatientPreferences.From(patient, Defaults).ContactWindow.Start);
    }

    [Fact]
    public void Only_channels_with_an_address_are_available_and_a_change_to_another_is_refused()
    {
        var patient = new Patient
        {
            Id = "p3",
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Email, null, "p3@example.test")],
        };

        Assert.Equal(["email", "push", "portal"], PreferenceChange.AvailableChannels(patient));
        Assert.Contains("no sms contact", Parse("""{"channel":"sms"}""").Check(patient), StringComparison.Ordinal);
        Assert.Null(Parse("""{"channel":"portal"}""").Check(patient));
    }

    [Theory]
    [InlineData("""{"language":"de"}""")]
    [InlineData("""{"contactWindow":{"start":"23:00","end":"01:00"}}""")]
    [InlineData("""{"contactWindow":{"start":"08:00","end":"17:00","zone":"UTC"}}""")]
    [InlineData("""{"channel":null}""")]
    public void Invalid_changes_are_422_material(string json)
    {
        var (change, malformed, invalid) = PreferenceChange.Parse(Encoding.UTF8.GetBytes(json), Languages);
        Assert.Null(change);
        Assert.Null(malformed);
        Assert.NotNull(invalid);
    }

    [Fact]
    public void A_score_is_explained_with_its_range_and_band_in_both_languages()
    {
        var phq9 = ScoreCodes.Find("http://loinc.org", "44261-6");

        Assert.Equal(
            "Your PHQ-9 total score was 21 (scores go from 0 to 27). A score from 20 to 27 suggests severe symptoms. This is not a diagnosis: your care team looks at it together with everything else they know about you.",
            OverviewTexts.For("en").Explain(phq9, 21m, "severe", CultureInfo.GetCultureInfo("en")));
        Assert.StartsWith("Su puntuación total del PHQ-9 fue 3 (las puntuaciones van de 0 a 27). Una puntuación de 0 a 4 indica síntomas mínimos.",
            OverviewTexts.For("es").Explain(phq9, 3m, "minimal", CultureInfo.GetCultureInfo("es")), StringComparison.Ordinal);
        Assert.StartsWith("Your total score was 4.", OverviewTexts.For("en").Explain(null, 4m, null, CultureInfo.GetCultureInfo("en")), StringComparison.Ordinal);
        Assert.Equal("We have your answers. Your care team will look at them.", OverviewTexts.For("en").Explain(phq9, null, null, CultureInfo.GetCultureInfo("en")));
    }
}
