using Hl7.Fhir.Model;
using Task = Hl7.Fhir.Model.Task;

namespace Engagement.Profiles.Tests;

/// <summary>Valid sample instances of each profile, as the engine would produce them; tests break them one way at a time.</summary>
internal static class Samples
{
    internal const string Base = "http://engagement-functions.org/fhir";
    private static readonly ResourceReference PatientRef = new("Patient/p1");

    internal static string Profile(string id) => $"{Base}/StructureDefinition/{id}";

    private static Identifier Ours(string kind, string value) => new($"{Base}/identifier/{kind}", value);

    internal static Task ValidTask() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-task")] },
        Identifier = [Ours("task", "run-1/phq9-day7")],
        Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
        Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
        Code = new CodeableConcept($"{Base}/CodeSystem/engagement-task-code", "complete-questionnaire"),
        For = PatientRef,
        AuthoredOn = "2026-11-24T10:00:00Z",
        ExecutionPeriod = new Period { Start = "2026-11-24T10:00:00Z", End = "2026-12-01T10:00:00Z" },
        Extension = [new Extension($"{Base}/StructureDefinition/engagement-link", new FhirUrl("https://engage.example.org/engage/abc123"))],
    };

    internal static Communication ValidCommunication() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-communication")] },
        Identifier = [Ours("communication", "run-1/phq9-day7/sms-1")],
        Status = EventStatus.Completed,
        Subject = PatientRef,
        Medium = [new CodeableConcept($"{Base}/CodeSystem/engagement-channel", "sms")],
        Sent = "2026-11-24T10:00:05Z",
        Extension = [new Extension($"{Base}/StructureDefinition/engagement-link", new FhirUrl("https://engage.example.org/engage/abc123"))],
    };

    internal static CarePlan ValidCarePlan() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-careplan")] },
        Identifier = [Ours("careplan", "run-1")],
        InstantiatesCanonical = [$"{Base}/PlanDefinition/depression-follow-up"],
        Status = RequestStatus.Active,
        Intent = Hl7.Fhir.Model.CarePlan.CarePlanIntent.Plan,
        Subject = PatientRef,
        Period = new Period { Start = "2026-11-24T10:00:00Z" },
    };

    internal static QuestionnaireResponse ValidQuestionnaireResponse() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-questionnaireresponse")] },
        Identifier = Ours("questionnaire-response", "run-1/phq9-day7"),
        Questionnaire = $"{Base}/Questionnaire/phq-9",
        Status = Hl7.Fhir.Model.QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
        Subject = PatientRef,
        Authored = "2026-11-24T12:00:00Z",
        Item =
        [
            new() { LinkId = "total", Answer = [new() { Value = new Integer(7) }] },
        ],
    };

    internal static Observation ValidObservation() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-observation")] },
        Identifier = [Ours("observation", "run-1/phq9-day7/total")],
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"),
        Subject = PatientRef,
        Effective = new FhirDateTime("2026-11-24T12:00:00Z"),
        Value = new Integer(7),
        DerivedFrom = [new ResourceReference("QuestionnaireResponse/qr1")],
    };

    internal static Flag ValidFlag() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-flag")] },
        Status = Hl7.Fhir.Model.Flag.FlagStatus.Active,
        Code = new CodeableConcept { Text = "PHQ-9 item 9 answered above 0: review for self-harm risk" },
        Subject = PatientRef,
        Period = new Period { Start = "2026-11-24T12:00:01Z" },
    };

    internal static Consent ValidConsent() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-consent")] },
        Status = Hl7.Fhir.Model.Consent.ConsentState.Active,
        Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        Category = [new CodeableConcept("http://loinc.org", "59284-0")],
        Patient = PatientRef,
        DateTime = "2026-11-24T12:30:00Z",
        PolicyRule = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT"),
        Provision = new Consent.provisionComponent
        {
            Type = Hl7.Fhir.Model.Consent.ConsentProvisionType.Deny,
            Code = [new CodeableConcept($"{Base}/CodeSystem/engagement-channel", "sms")],
        },
    };

    internal static MeasureReport ValidMeasureReport() => new()
    {
        Meta = new Meta { Profile = [Profile("engagement-measurereport")] },
        Status = Hl7.Fhir.Model.MeasureReport.MeasureReportStatus.Complete,
        Type = Hl7.Fhir.Model.MeasureReport.MeasureReportType.Summary,
        Measure = $"{Base}/Measure/engagement-response-rate",
        Date = "2026-11-30T00:00:00Z",
        Period = new Period { Start = "2026-11-01", End = "2026-11-30" },
        Group =
        [
            new()
            {
                Population =
                [
                    Population("initial-population", 40),
                    Population("denominator", 40),
                    Population("numerator", 31),
                ],
                MeasureScore = new Quantity { Value = 0.775m },
            },
        ],
    };

    internal static Patient ValidPatient() => new()
    {
        Extension =
        [
            new Extension("http://hl7.org/fhir/StructureDefinition/tz-code", new Code("America/New_York")),
            new Extension($"{Base}/StructureDefinition/preferred-channel", new Code("sms")),
            new Extension
            {
                Url = $"{Base}/StructureDefinition/contact-window",
                Extension = [new Extension("start", new Time("09:00:00")), new Extension("end", new Time("20:00:00"))],
            },
        ],
    };

    private static MeasureReport.PopulationComponent Population(string code, int count) => new()
    {
        Code = new CodeableConcept("http://terminology.hl7.org/CodeSystem/measure-population", code),
        Count = count,
    };
}
