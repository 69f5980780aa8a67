using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Constraints;
using Microsoft.AspNetCore.Routing.Template;

namespace Engagement.Functions.Tests;

/// <summary>
/// The Functions host does not rank literal route segments above parameters (Azure/azure-functions-host#9876), so the
/// generic FHIR routes must not match the literal FHIR routes at all: their constraints keep them apart.
/// </summary>
public sealed class FhirRouteTests
{
    private static readonly IReadOnlyList<FunctionBinding> FhirFunctions =
        [.. FunctionBinding.LoadBuilt().Where(f => f.Name is "FhirRead" or "FhirSearch" or "FhirUpdate")];

    private static bool Matches(string route, string path)
    {
        var template = TemplateParser.Parse(route);
        var values = new RouteValueDictionary();
        if (!new TemplateMatcher(template, new RouteValueDictionary()).TryMatch("/" + path, values))
        {
            return false;
        }

        return template.Parameters.All(parameter => parameter.InlineConstraints.All(inline =>
        {
            var pattern = inline.Constraint["regex(".Length..^1];
            return new RegexRouteConstraint(pattern).Match(null, null, parameter.Name!, values, RouteDirection.IncomingRequest);
        }));
    }

    [Theory]
    [InlineData("api/fhir/metadata")]
    [InlineData("api/fhir/.well-known/smart-configuration")]
    [InlineData("api/fhir/MeasureReport/$engagement")]
    public void The_generic_fhir_routes_never_match_a_literal_fhir_route(string path)
    {
        Assert.Equal(3, FhirFunctions.Count);
        Assert.All(FhirFunctions, f => Assert.False(Matches(f.Route!, path), $"{f.Name} would capture {path}"));
    }

    [Theory]
    [InlineData("api/fhir/Task/task-1.2", "FhirRead")]
    [InlineData("api/fhir/QuestionnaireResponse", "FhirSearch")]
    [InlineData("api/fhir/PlanDefinition/post-discharge", "FhirUpdate")]
    public void The_generic_fhir_routes_match_resource_paths(string path, string function)
    {
        Assert.True(Matches(Assert.Single(FhirFunctions, f => f.Name == function).Route!, path));
    }
}
