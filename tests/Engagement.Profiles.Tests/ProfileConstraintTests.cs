using Engagement.Testing;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace Engagement.Profiles.Tests;

/// <summary>Each profile accepts what the engine produces and rejects what it must not.</summary>
public sealed class ProfileConstraintTests
{
    private static readonly ProfileValidator Validator = ProfileValidator.Shared;

    public static TheoryData<string> ValidSamples() =>
    [
        "engagement-task", "engagement-communication", "engagement-careplan", "engagement-questionnaireresponse",
        "engagement-observation", "engagement-flag", "engagement-consent", "engagement-measurereport",
    ];

    [Theory]
    [MemberData(nameof(ValidSamples))]
    public void A_sample_the_engine_would_produce_conforms_to_its_profile(string profileId)
    {
        Resource sample = profileId switch
        {
            "engagement-task" => Samples.ValidTask(),
            "engagement-communication" => Samples.ValidCommunication(),
            "engagement-careplan" => Samples.ValidCarePlan(),
            "engagement-questionnaireresponse" => Samples.ValidQuestionnaireResponse(),
            "engagement-observation" => Samples.ValidObservation(),
            "engagement-flag" => Samples.ValidFlag(),
            "engagement-consent" => Samples.ValidConsent(),
            "engagement-measurereport" => Samples.ValidMeasureReport(),
            _ => throw new ArgumentOutOfRangeException(nameof(profileId)),
        };

        var result = Validator.Validate(sample, Samples.Profile(profileId));

        Assert.True(result.IsValid, result.ToString());
    }

    [Fact]
    public void Task_without_for_is_rejected()
    {
        var task = Samples.ValidTask();
        task.For = null;

        AssertRejected(task, "Missing required member: 'for'");
    }

    [Fact]
    public void Task_without_our_identifier_system_is_rejected()
    {
        var task = Samples.ValidTask();
        task.Identifier = [new Identifier("urn:other", "1")];

        AssertRejected(task, "eng-task-1");
    }

    [Fact]
    public void Task_without_code_is_rejected()
    {
        var task = Samples.ValidTask();
        task.Code = null;

        AssertRejected(task, "Missing required member: 'code'");
    }

    [Fact]
    public void Communication_without_subject_is_rejected()
    {
        var communication = Samples.ValidCommunication();
        communication.Subject = null;

        AssertRejected(communication, "Missing required member: 'subject'");
    }

    [Fact]
    public void CarePlan_without_instantiatesCanonical_is_rejected()
    {
        var carePlan = Samples.ValidCarePlan();
        carePlan.InstantiatesCanonical = [];

        AssertRejected(carePlan, "Missing required member: 'instantiatesCanonical'");
    }

    [Fact]
    public void QuestionnaireResponse_without_authored_is_rejected()
    {
        var response = Samples.ValidQuestionnaireResponse();
        response.Authored = null;

        AssertRejected(response, "Missing required member: 'authored'");
    }

    [Fact]
    public void QuestionnaireResponse_without_questionnaire_is_rejected()
    {
        var response = Samples.ValidQuestionnaireResponse();
        response.Questionnaire = null;

        AssertRejected(response, "Missing required member: 'questionnaire'");
    }

    [Fact]
    public void Observation_not_derived_from_a_QuestionnaireResponse_is_rejected()
    {
        var observation = Samples.ValidObservation();
        observation.DerivedFrom = [];

        AssertRejected(observation, "Missing required member: 'derivedFrom'");
    }

    [Fact]
    public void Observation_without_value_is_rejected()
    {
        var observation = Samples.ValidObservation();
        observation.Value = null;

        AssertRejected(observation, "Missing required member: 'value'");
    }

    [Fact]
    public void Flag_without_period_start_is_rejected()
    {
        var flag = Samples.ValidFlag();
        flag.Period = new Period { End = "2026-12-01" };

        AssertRejected(flag, "Flag.period");
    }

    [Fact]
    public void Consent_that_permits_instead_of_denies_is_rejected()
    {
        var consent = Samples.ValidConsent();
        consent.Provision!.Type = Consent.ConsentProvisionType.Permit;

        AssertRejected(consent, "Consent.provision");
    }

    [Fact]
    public void Consent_without_the_opt_out_policy_rule_is_rejected()
    {
        var consent = Samples.ValidConsent();
        consent.PolicyRule = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN");

        AssertRejected(consent, "Consent.policyRule");
    }

    [Fact]
    public void MeasureReport_for_another_measure_is_rejected()
    {
        var report = Samples.ValidMeasureReport();
        report.Measure = "http://example.org/Measure/other";

        AssertRejected(report, "eng-mr-1");
    }

    [Fact]
    public void Validation_uses_meta_profile_when_no_profile_is_given()
    {
        var task = Samples.ValidTask();
        task.For = null;

        Assert.False(Validator.Validate(task).IsValid);
        task.Meta = null;
        Assert.True(Validator.Validate(task).IsValid, "without meta.profile a Task without for is valid core R4");
    }

    [Fact]
    public void Json_input_is_parsed_and_validated()
    {
        var task = Samples.ValidTask();
        task.For = null;
        var json = new FhirJsonSerializer().SerializeToString(task);

        var result = Validator.Validate(json);

        Assert.False(result.IsValid);
        Assert.True(Validator.Validate(new FhirJsonSerializer().SerializeToString(Samples.ValidTask())).IsValid);
    }

    [Fact]
    public void Json_that_is_not_FHIR_is_reported_as_an_error()
    {
        var result = Validator.Validate("""{"resourceType":"Task","notAnElement":true}""");

        Assert.False(result.IsValid);
    }

    private static void AssertRejected(Resource resource, string? expectedInErrors = null)
    {
        var result = Validator.Validate(resource);

        Assert.False(result.IsValid, $"{resource.TypeName} should not conform to {string.Join(",", resource.Meta?.Profile ?? [])}");
        if (expectedInErrors is not null)
        {
            Assert.Contains(result.Errors, e => e.Contains(expectedInErrors, StringComparison.Ordinal));
        }
    }
}
