using Engagement.Security.Smart;
using Microsoft.AspNetCore.Http;

namespace Engagement.Core.Tests.Smart;

public sealed class SmartAccessTests
{
    private static SmartAccess Patient(string scope, string? patient = "p1", string? fhirUser = null) =>
        SmartAccess.FromToken("https://ehr.example.org/auth", "sub", patient, fhirUser, SmartScopes.Parse(scope));

    [Fact]
    public void A_patient_reads_and_writes_only_their_own_resources()
    {
        var access = Patient("patient/QuestionnaireResponse.cru");

        Assert.Null(access.Authorize("QuestionnaireResponse", SmartInteraction.Create, "p1"));
        Assert.Null(access.Authorize("QuestionnaireResponse", SmartInteraction.Read, "Patient/p1"));
        Assert.Equal(403, Status(access.Authorize("QuestionnaireResponse", SmartInteraction.Read, "p2")));
        Assert.Equal(403, Status(access.Authorize("QuestionnaireResponse", SmartInteraction.Delete, "p1")));
        Assert.True(access.CanAccess("https://ehr.example.org/fhir/Patient/p1"));
        Assert.False(access.CanAccess("p2"));
    }

    [Fact]
    public void A_fhirUser_that_is_a_patient_is_the_patient_context_even_with_user_scopes()
    {
        var access = Patient("user/QuestionnaireResponse.rs", patient: null, fhirUser: "https://ehr.example.org/fhir/Patient/p7");

        Assert.Equal("p7", access.PatientId);
        Assert.True(access.CanAccess("p7"));
        Assert.False(access.CanAccess("p1"));
    }

    [Fact]
    public void Patient_scopes_without_a_patient_in_context_grant_nothing()
    {
        var access = Patient("patient/QuestionnaireResponse.cruds", patient: null);

        Assert.False(access.Allows("QuestionnaireResponse", SmartInteraction.Read));
        Assert.False(access.CanAccess("p1"));
    }

    [Fact]
    public void A_practitioner_with_user_scopes_reaches_any_patient_the_scopes_allow()
    {
        var access = Patient("user/*.rs", patient: null, fhirUser: "Practitioner/dr-1");

        Assert.Null(access.PatientId);
        Assert.Null(access.Authorize("Task", SmartInteraction.Read, "p1"));
        Assert.Null(access.Authorize("Task", SmartInteraction.Read, "p2"));
        Assert.Equal(403, Status(access.Authorize("Task", SmartInteraction.Update, "p1")));
    }

    [Fact]
    public void The_care_team_key_reads_and_searches_everything_but_writes_nothing()
    {
        var access = SmartAccess.CareTeam;

        Assert.Null(access.Authorize("QuestionnaireResponse", SmartInteraction.Read, "p1"));
        Assert.Null(access.Authorize("Task", SmartInteraction.Search));
        Assert.Equal(403, Status(access.Authorize("QuestionnaireResponse", SmartInteraction.Create, "p1")));
        Assert.True(access.RestrictSearch("Task", null, out var filter, out _));
        Assert.Null(filter);
    }

    [Fact]
    public void A_patients_search_is_forced_to_their_own_patient()
    {
        var access = Patient("patient/QuestionnaireResponse.rs");

        Assert.True(access.RestrictSearch("QuestionnaireResponse", null, out var unfiltered, out _));
        Assert.Equal("p1", unfiltered);
        Assert.True(access.RestrictSearch("QuestionnaireResponse", "Patient/p1", out var own, out _));
        Assert.Equal("p1", own);
        Assert.False(access.RestrictSearch("QuestionnaireResponse", "p2", out _, out var denied));
        Assert.Equal(403, Status(denied));
        Assert.False(access.RestrictSearch("Task", null, out _, out var noScope));
        Assert.Equal(403, Status(noScope));
    }

    [Theory]
    [InlineData("p1", "p1")]
    [InlineData("Patient/p1", "p1")]
    [InlineData("https://ehr.example.org/fhir/Patient/p1", "p1")]
    [InlineData("https://ehr.example.org/fhir/Patient/p1/_history/2", "p1")]
    [InlineData("NotPatient/p1", "NotPatient/p1")]
    public void Patient_references_normalize_to_the_id(string reference, string id)
    {
        Assert.Equal(id, SmartAccess.NormalizePatientId(reference));
    }

    private static int? Status(IResult? result) => (result as IStatusCodeHttpResult)?.StatusCode;
}
