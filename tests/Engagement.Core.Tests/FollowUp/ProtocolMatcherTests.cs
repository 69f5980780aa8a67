using Engagement.FollowUp;
using Hl7.Fhir.Model;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class ProtocolMatcherTests
{
    private static readonly ProtocolDefinition[] Shipped =
        [ShippedProtocol("post-discharge"), ShippedProtocol("depression-monitoring"), ShippedProtocol("appointment-reminder")];

    private static string[] MatchIds(Resource changed, string? eventName = null) =>
        [.. ProtocolMatcher.Match(Shipped, changed, eventName).Select(p => p.Id)];

    [Fact]
    public void Finished_inpatient_encounter_starts_post_discharge()
    {
        Assert.Equal(["post-discharge"], MatchIds(Load<Encounter>("Encounter-inpatient-finished.json")));
    }

    [Fact]
    public void Finished_outpatient_encounter_starts_nothing()
    {
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        encounter.Class.Code = "AMB";

        Assert.Empty(MatchIds(encounter));
    }

    [Fact]
    public void Inpatient_encounter_still_in_progress_starts_nothing()
    {
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        encounter.Status = Encounter.EncounterStatus.InProgress;

        Assert.Empty(MatchIds(encounter));
    }

    [Fact]
    public void Booked_appointment_starts_appointment_reminders()
    {
        Assert.Equal(["appointment-reminder"], MatchIds(Load<Appointment>("Appointment-booked.json")));
    }

    [Fact]
    public void Appointment_booked_event_starts_appointment_reminders_once()
    {
        Assert.Equal(["appointment-reminder"], MatchIds(Load<Appointment>("Appointment-booked.json"), "appointment-booked"));
    }

    [Fact]
    public void Cancelled_appointment_starts_nothing_even_with_the_booked_event()
    {
        var appointment = Load<Appointment>("Appointment-booked.json");
        appointment.Status = Appointment.AppointmentStatus.Cancelled;

        Assert.Empty(MatchIds(appointment, "appointment-booked"));
    }

    [Fact]
    public void Named_event_starts_only_protocols_listening_for_that_name()
    {
        var patient = new Patient { Id = "p1" };

        Assert.Equal(["depression-monitoring"], MatchIds(patient, "depression-monitoring-start"));
        Assert.Empty(MatchIds(patient, "something-else"));
        Assert.Empty(MatchIds(patient));
    }

    [Fact]
    public void Condition_that_fails_to_evaluate_does_not_fire()
    {
        // single() over two codes is an evaluation error, not a match.
        var condition = new FhirPathExpression("%resource.type.coding.code.single() = 'a'");
        var protocol = Shipped[0] with { Triggers = [ProtocolTrigger.DataChanged("Encounter", condition)] };
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        encounter.Type.Add(new CodeableConcept("http://example.org", "a"));
        encounter.Type.Add(new CodeableConcept("http://example.org", "a"));

        Assert.ThrowsAny<Exception>(() => condition.IsTrue(encounter));
        Assert.Empty(ProtocolMatcher.Match([protocol], encounter, null));
    }

    [Fact]
    public void Anchor_is_the_encounter_end()
    {
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        var received = new DateTimeOffset(2026, 3, 7, 0, 0, 0, TimeSpan.Zero);

        var anchor = Shipped[0].ResolveAnchor(encounter, received, Zone("America/New_York"));

        Assert.Equal(new DateTimeOffset(2026, 3, 6, 15, 0, 0, TimeSpan.Zero), anchor);
    }

    [Fact]
    public void Anchor_falls_back_to_the_event_time_when_the_encounter_has_no_end()
    {
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        encounter.Period!.End = null;
        var received = new DateTimeOffset(2026, 3, 7, 1, 2, 3, TimeSpan.Zero);

        Assert.Equal(received, Shipped[0].ResolveAnchor(encounter, received, Zone("America/New_York")));
    }

    [Fact]
    public void Anchor_of_a_date_without_time_is_local_midnight_in_the_patient_zone()
    {
        var encounter = Load<Encounter>("Encounter-inpatient-finished.json");
        encounter.Period!.End = "2026-03-06";

        var anchor = Shipped[0].ResolveAnchor(encounter, DateTimeOffset.UnixEpoch, Zone("America/New_York"));

        Assert.Equal(new DateTimeOffset(2026, 3, 6, 5, 0, 0, TimeSpan.Zero), anchor);
    }

    [Fact]
    public void Anchor_of_an_appointment_is_its_start()
    {
        var anchor = Shipped[2].ResolveAnchor(Load<Appointment>("Appointment-booked.json"), DateTimeOffset.UnixEpoch, Zone("UTC"));

        Assert.Equal(new DateTimeOffset(2026, 4, 20, 18, 30, 0, TimeSpan.Zero), anchor);
    }
}
