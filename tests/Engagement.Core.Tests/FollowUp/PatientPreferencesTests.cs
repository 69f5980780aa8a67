using Engagement.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class PatientPreferencesTests
{
    private static readonly PreferenceDefaults Defaults = new()
    {
        TimeZone = "America/Chicago",
        ContactWindowStart = new TimeOnly(8, 0),
        ContactWindowEnd = new TimeOnly(21, 0),
        Language = "en",
    };

    [Fact]
    public void Spanish_patient_gets_spanish_her_zone_her_window_and_email_first()
    {
        var preferences = PatientPreferences.From(Load<Patient>("Patient-spanish.json"), Defaults);

        Assert.Equal("es", preferences.Language);
        Assert.Equal("Europe/Madrid", preferences.TimeZone.Id);
        Assert.Equal(new ContactWindow(new TimeOnly(10, 0), new TimeOnly(19, 30)), preferences.ContactWindow);
        Assert.Equal("email", preferences.PreferredChannel);
        Assert.Equal(["sms"], preferences.FallbackChannels.ToArray());
    }

    [Fact]
    public void Without_the_extension_the_best_ranked_telecom_that_can_take_a_message_is_preferred()
    {
        var preferences = PatientPreferences.From(Load<Patient>("Patient-telecom-only.json"), Defaults);

        // Rank 1 is a home landline (no SMS), rank 2 email, rank 3 a mobile; the 'old' email is ignored.
        Assert.Equal("email", preferences.PreferredChannel);
        Assert.Equal(["sms"], preferences.FallbackChannels.ToArray());
    }

    [Fact]
    public void Without_preferences_the_configured_defaults_apply()
    {
        var preferences = PatientPreferences.From(new Patient(), Defaults);

        Assert.Equal("America/Chicago", preferences.TimeZone.Id);
        Assert.Equal(new ContactWindow(new TimeOnly(8, 0), new TimeOnly(21, 0)), preferences.ContactWindow);
        Assert.Equal("en", preferences.Language);
        Assert.Null(preferences.PreferredChannel);
        Assert.Empty(preferences.FallbackChannels.ToArray());
    }

    [Fact]
    public void Unknown_time_zone_and_inverted_window_fall_back_to_the_defaults()
    {
        var patient = new PatientBuilder().WithTimeZone("Mars/Olympus_Mons").WithContactWindow("20:00:00", "08:00:00").Build();

        var preferences = PatientPreferences.From(patient, Defaults);

        Assert.Equal("America/Chicago", preferences.TimeZone.Id);
        Assert.Equal(new TimeOnly(8, 0), preferences.ContactWindow.Start);
    }

    [Fact]
    public void Language_is_taken_only_from_the_preferred_communication()
    {
        var patient = new PatientBuilder().WithLanguage("fr", preferred: false).WithLanguage("vi", preferred: true).Build();

        Assert.Equal("vi", PatientPreferences.From(patient, Defaults).Language);
        Assert.Equal("en", PatientPreferences.From(new PatientBuilder().WithLanguage("fr", preferred: false).Build(), Defaults).Language);
    }

    [Fact]
    public void Channel_extension_wins_over_telecom_and_telecom_gives_the_fallbacks_in_rank_order()
    {
        var patient = new PatientBuilder()
            .WithPreferredChannel("portal")
            .WithTelecom(ContactPoint.ContactPointSystem.Email, null, rank: 2)
            .WithTelecom(ContactPoint.ContactPointSystem.Phone, ContactPoint.ContactPointUse.Mobile, rank: 1)
            .Build();

        var preferences = PatientPreferences.From(patient, Defaults);

        Assert.Equal("portal", preferences.PreferredChannel);
        Assert.Equal(["sms", "email"], preferences.FallbackChannels.ToArray());
    }

    [Fact]
    public void Unknown_channel_in_the_extension_is_ignored()
    {
        var patient = new PatientBuilder()
            .WithPreferredChannel("carrier-pigeon")
            .WithTelecom(ContactPoint.ContactPointSystem.Sms, null, rank: null)
            .Build();

        Assert.Equal("sms", PatientPreferences.From(patient, Defaults).PreferredChannel);
    }

    [Fact]
    public void Defaults_bind_from_the_engagement_follow_up_configuration_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Engagement:FollowUp:TimeZone"] = "Europe/Madrid",
            ["Engagement:FollowUp:ContactWindowStart"] = "08:30",
            ["Engagement:FollowUp:ContactWindowEnd"] = "18:00",
            ["Engagement:FollowUp:Language"] = "es",
        }).Build();

        var defaults = configuration.GetSection(PreferenceDefaults.SectionName).Get<PreferenceDefaults>()!;
        var preferences = PatientPreferences.From(new Patient(), defaults);

        Assert.Equal("Europe/Madrid", preferences.TimeZone.Id);
        Assert.Equal(new ContactWindow(new TimeOnly(8, 30), new TimeOnly(18, 0)), preferences.ContactWindow);
        Assert.Equal("es", preferences.Language);
    }
}
