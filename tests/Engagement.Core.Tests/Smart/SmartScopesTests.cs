using Engagement.Security.Smart;

namespace Engagement.Core.Tests.Smart;

public sealed class SmartScopesTests
{
    [Theory]
    [InlineData("patient/QuestionnaireResponse.c", "QuestionnaireResponse", "c", true)]
    [InlineData("patient/QuestionnaireResponse.c", "QuestionnaireResponse", "r", false)]
    [InlineData("patient/QuestionnaireResponse.rs", "QuestionnaireResponse", "r", true)]
    [InlineData("patient/QuestionnaireResponse.rs", "QuestionnaireResponse", "s", true)]
    [InlineData("patient/QuestionnaireResponse.rs", "QuestionnaireResponse", "c", false)]
    [InlineData("patient/QuestionnaireResponse.cru", "QuestionnaireResponse", "u", true)]
    [InlineData("patient/QuestionnaireResponse.cru", "QuestionnaireResponse", "d", false)]
    [InlineData("patient/QuestionnaireResponse.cruds", "QuestionnaireResponse", "d", true)]
    [InlineData("user/*.rs", "Task", "r", true)]
    [InlineData("user/*.rs", "Task", "u", false)]
    [InlineData("system/Task.cruds", "Task", "d", true)]
    [InlineData("patient/Task.rs", "CarePlan", "r", false)]
    [InlineData("patient/QuestionnaireResponse.read", "QuestionnaireResponse", "r", true)]
    [InlineData("patient/QuestionnaireResponse.read", "QuestionnaireResponse", "s", true)]
    [InlineData("patient/QuestionnaireResponse.read", "QuestionnaireResponse", "c", false)]
    [InlineData("patient/QuestionnaireResponse.write", "QuestionnaireResponse", "c", true)]
    [InlineData("patient/QuestionnaireResponse.write", "QuestionnaireResponse", "u", true)]
    [InlineData("patient/QuestionnaireResponse.write", "QuestionnaireResponse", "r", false)]
    [InlineData("patient/*.*", "Communication", "d", true)]
    [InlineData("user/Patient.read", "Task", "r", false)]
    public void A_scope_allows_exactly_its_interactions(string scope, string resourceType, string interaction, bool allowed)
    {
        Assert.Equal(allowed, SmartScopes.Parse(scope).Allows(resourceType, Interaction(interaction)));
    }

    [Theory]
    [InlineData("patient/QuestionnaireResponse.rc")] // v2 letters out of order
    [InlineData("patient/QuestionnaireResponse.cc")] // repeated
    [InlineData("patient/QuestionnaireResponse.x")]
    [InlineData("patient/QuestionnaireResponse.")]
    [InlineData("patient/.rs")]
    [InlineData("practitioner/Task.rs")]
    [InlineData("patient/questionnaireresponse.rs")]
    [InlineData("patient/Observation.rs?category=laboratory")] // granular scopes are not supported: they grant nothing
    [InlineData("openid")]
    [InlineData("launch/patient")]
    [InlineData("fhirUser")]
    [InlineData("offline_access")]
    public void Malformed_non_clinical_and_query_restricted_scopes_grant_nothing(string scope)
    {
        Assert.Empty(SmartScopes.Parse(scope).Scopes);
    }

    [Fact]
    public void A_scope_string_combines_its_scopes_and_remembers_their_context()
    {
        var scopes = SmartScopes.Parse("openid fhirUser launch/patient patient/QuestionnaireResponse.cru user/Task.rs");

        Assert.Equal(2, scopes.Scopes.Count);
        Assert.True(scopes.Allows("QuestionnaireResponse", SmartInteraction.Create, SmartScopeContext.Patient));
        Assert.False(scopes.Allows("QuestionnaireResponse", SmartInteraction.Create, SmartScopeContext.User));
        Assert.True(scopes.Allows("Task", SmartInteraction.Search, SmartScopeContext.User));
        Assert.Equal("patient/QuestionnaireResponse.cru user/Task.rs", scopes.ToString());
    }

    [Fact]
    public void No_scope_claim_allows_nothing()
    {
        Assert.False(SmartScopes.Parse(null).Allows("Questionnaire", SmartInteraction.Read));
        Assert.False(SmartScopes.Parse("  ").Allows("Questionnaire", SmartInteraction.Read));
    }

    private static SmartInteraction Interaction(string letter) => letter switch
    {
        "c" => SmartInteraction.Create,
        "r" => SmartInteraction.Read,
        "u" => SmartInteraction.Update,
        "d" => SmartInteraction.Delete,
        _ => SmartInteraction.Search,
    };
}
