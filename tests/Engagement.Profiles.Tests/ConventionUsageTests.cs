using Engagement.Testing;
using Hl7.Fhir.Model;

namespace Engagement.Profiles.Tests;

/// <summary>Our extensions validate where docs/fhir-conventions.md tells other features to put them.</summary>
public sealed class ConventionUsageTests
{
    private const string Base = ProfileValidator.CanonicalBase;
    private static readonly ProfileValidator Validator = ProfileValidator.Shared;

    private static Duration Days(int days) => new() { Value = days, System = "http://unitsofmeasure.org", Code = "d", Unit = "d" };

    private static Expression FhirPath(string expression) => new() { Language = "text/fhirpath", Expression_ = expression };

    internal static PlanDefinition Protocol() => new()
    {
        Url = $"{Base}/PlanDefinition/test-protocol",
        Name = "TestProtocol",
        Status = PublicationStatus.Draft,
        Action =
        [
            new PlanDefinition.ActionComponent
            {
                Title = "Discharge follow-up",
                Trigger = [new TriggerDefinition { Type = TriggerDefinition.TriggerType.DataChanged, Data = [new DataRequirement { Type = FHIRAllTypes.Encounter }] }],
                Extension =
                [
                    new Extension($"{Base}/StructureDefinition/timing-anchor", FhirPath("%resource.period.end")),
                    new Extension($"{Base}/StructureDefinition/stop-when", FhirPath("%scores.tail().take(2).all($this < 5)")),
                    new Extension($"{Base}/StructureDefinition/link-lifetime", Days(7)),
                    new Extension($"{Base}/StructureDefinition/appointment-reply", new Code("update-appointment")),
                ],
                Action =
                [
                    new PlanDefinition.ActionComponent
                    {
                        ElementId = "phq9-day7",
                        Title = "PHQ-9 at day 7",
                        Timing = Days(7),
                        Definition = new Canonical($"{Base}/Questionnaire/phq-9"),
                        Extension =
                        [
                            new Extension($"{Base}/StructureDefinition/response-window", Days(1)),
                            new Extension
                            {
                                Url = $"{Base}/StructureDefinition/reminder-policy",
                                Extension = [new Extension("count", new Integer(2)), new Extension("interval", Days(1))],
                            },
                            new Extension
                            {
                                Url = $"{Base}/StructureDefinition/escalation",
                                Extension = [new Extension("priority", new Code("urgent")), new Extension("reason", new FhirString("No PHQ-9 response after reminders"))],
                            },
                        ],
                    },
                ],
            },
        ],
    };

    [Fact]
    public void Protocol_extensions_validate_on_the_root_action_and_on_activities()
    {
        var result = Validator.Validate(Protocol());

        Assert.True(result.IsValid, result.ToString());
    }

    [Fact]
    public void Activity_extension_on_the_PlanDefinition_itself_is_rejected()
    {
        var plan = Protocol();
        plan.Extension.Add(new Extension($"{Base}/StructureDefinition/response-window", Days(1)));

        Assert.Contains(Validator.Validate(plan).Errors, e => e.Contains("outside of appropriate contexts", StringComparison.Ordinal));
    }

    [Fact]
    public void Reminder_policy_without_interval_is_rejected()
    {
        var plan = Protocol();
        plan.Action[0].Action[0].Extension[1].Extension.RemoveAll(e => e.Url == "interval");

        Assert.False(Validator.Validate(plan).IsValid);
    }

    [Fact]
    public void Appointment_reply_other_than_update_appointment_or_task_is_rejected()
    {
        var plan = Protocol();
        plan.Action[0].Extension.Single(e => e.Url == $"{Base}/StructureDefinition/appointment-reply").Value = new Code("phone-the-patient");

        Assert.Contains(Validator.Validate(plan).Errors, e => e.Contains("eng-ar-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Red_flag_validates_on_a_Questionnaire()
    {
        var questionnaire = new Questionnaire
        {
            Url = $"{Base}/Questionnaire/test",
            Name = "Test",
            Status = PublicationStatus.Draft,
            Item = [new Questionnaire.ItemComponent { LinkId = "total", Text = "Total", Type = Questionnaire.QuestionnaireItemType.Integer }],
            Extension =
            [
                new Extension
                {
                    Url = $"{Base}/StructureDefinition/red-flag",
                    Extension =
                    [
                        new Extension("expression", FhirPath("%totalScore >= 20")),
                        new Extension("priority", new Code("urgent")),
                        new Extension("code", new Coding("http://snomed.info/sct", "225444004", "At risk for suicide")),
                        new Extension("description", new FhirString("Severe depression score")),
                    ],
                },
            ],
        };

        var result = Validator.Validate(questionnaire);
        Assert.True(result.IsValid, result.ToString());

        questionnaire.Extension[0].Extension.RemoveAll(e => e.Url == "expression");
        Assert.False(Validator.Validate(questionnaire).IsValid);
    }
}
