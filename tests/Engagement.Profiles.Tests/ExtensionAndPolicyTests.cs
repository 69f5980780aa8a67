using Engagement.Testing;
using Hl7.Fhir.Model;

namespace Engagement.Profiles.Tests;

/// <summary>Our extensions constrain their values and contexts; the validator's leniency is as narrow as documented.</summary>
public sealed class ExtensionAndPolicyTests
{
    private const string Base = ProfileValidator.CanonicalBase;
    private static readonly ProfileValidator Validator = ProfileValidator.Shared;

    [Fact]
    public void Patient_with_the_shared_preference_extensions_is_valid()
    {
        var result = Validator.Validate(Samples.ValidPatient());

        Assert.True(result.IsValid, result.ToString());
    }

    [Fact]
    public void Preferred_channel_outside_the_engagement_channel_codes_is_rejected()
    {
        var patient = Samples.ValidPatient();
        patient.Extension[1].Value = new Code("fax");

        Assert.False(Validator.Validate(patient).IsValid);
    }

    [Fact]
    public void Contact_window_without_end_is_rejected()
    {
        var patient = Samples.ValidPatient();
        patient.Extension[2].Extension.RemoveAll(e => e.Url == "end");

        Assert.False(Validator.Validate(patient).IsValid);
    }

    [Fact]
    public void Red_flag_extension_on_a_Patient_is_rejected_by_its_context()
    {
        var patient = Samples.ValidPatient();
        patient.Extension.Add(new Extension
        {
            Url = $"{Base}/StructureDefinition/red-flag",
            Extension =
            [
                new Extension("expression", new Expression { Language = "text/fhirpath", Expression_ = "%totalScore >= 20" }),
                new Extension("priority", new Code("urgent")),
                new Extension("code", new Coding("http://example.org", "x")),
            ],
        });

        var result = Validator.Validate(patient);

        Assert.Contains(result.Errors, e => e.Contains("outside of appropriate contexts", StringComparison.Ordinal));
    }

    [Fact]
    public void Escalation_priority_outside_request_priority_is_rejected()
    {
        var plan = new PlanDefinition
        {
            Status = PublicationStatus.Draft,
            Action =
            [
                new PlanDefinition.ActionComponent
                {
                    Title = "Check-in",
                    Extension =
                    [
                        new Extension
                        {
                            Url = $"{Base}/StructureDefinition/escalation",
                            Extension = [new Extension("priority", new Code("whenever")), new Extension("reason", new FhirString("No response"))],
                        },
                    ],
                },
            ],
        };

        Assert.False(Validator.Validate(plan).IsValid);
        plan.Action[0].Extension[0].Extension[0].Value = new Code("urgent");
        Assert.True(Validator.Validate(plan).IsValid, Validator.Validate(plan).ToString());
    }

    [Fact]
    public void Tz_code_leniency_applies_only_to_a_Patient_own_extension()
    {
        var observation = Samples.ValidObservation();
        observation.Meta = null;
        observation.Extension.Add(new Extension(KnownDeviationsTzCode, new Code("America/New_York")));

        Assert.Contains(Validator.Validate(observation).Errors, e => e.Contains("outside of appropriate contexts", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_extension_under_our_base_is_an_error()
    {
        var patient = Samples.ValidPatient();
        patient.Extension.Add(new Extension($"{Base}/StructureDefinition/preferred-chanel", new Code("sms")));

        Assert.Contains(Validator.Validate(patient).Errors, e => e.Contains("preferred-chanel", StringComparison.Ordinal));
    }

    [Fact]
    public void Backport_leniency_is_off_by_default_so_shipped_Subscriptions_fail_strict_validation()
    {
        var subscription = ProfileValidator.Shared.PackageResources.OfType<Subscription>().First();

        Assert.False(Validator.Validate(subscription, options: ValidationOptions.Strict).IsValid);
        Assert.True(Validator.Validate(subscription, options: ValidationOptions.SubscriptionsBackport).IsValid);
    }

    [Fact]
    public void Backport_leniency_does_not_excuse_other_unknown_extensions()
    {
        var subscription = (Subscription)ProfileValidator.Shared.PackageResources.OfType<Subscription>().First().DeepCopy();
        subscription.Extension.Add(new Extension("http://example.org/StructureDefinition/unknown", new FhirString("x")));

        Assert.False(Validator.Validate(subscription, options: ValidationOptions.SubscriptionsBackport).IsValid);
    }

    [Fact]
    public void Every_shipped_StructureDefinition_gets_a_generated_snapshot()
    {
        var definitions = Validator.PackageResources.OfType<StructureDefinition>().ToList();
        Assert.NotEmpty(definitions);

        foreach (var definition in definitions)
        {
            var resolved = Assert.IsType<StructureDefinition>(Validator.Resolve(definition.Url!));
            Assert.True(resolved.Snapshot?.Element.Count > definition.Differential?.Element.Count, definition.Url);
        }
    }

    private const string KnownDeviationsTzCode = "http://hl7.org/fhir/StructureDefinition/tz-code";
}
