using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;

namespace Engagement.Testing;

/// <summary>
/// The only validator errors we downgrade to warnings, each narrow and documented in fhir-profiles/README.md.
/// Everything else the validator reports stands.
/// </summary>
internal static class KnownDeviations
{
    internal const string TzCodeUrl = "http://hl7.org/fhir/StructureDefinition/tz-code";
    private const string UnresolvedPrefix = "Unable to resolve reference to ";
    private const string ContextMessage = "Extension used outside of appropriate contexts";

    internal static void Apply(OperationOutcome outcome, Resource resource, ValidationOptions options)
    {
        foreach (var issue in outcome.Issue.Where(IsError))
        {
            var text = issue.Details?.Text ?? issue.Diagnostics ?? "";
            var reason =
                options.AllowUnresolvedBackportDefinitions && IsUnresolvedBackportDefinition(text)
                    ? "Subscriptions Backport IG definition not available offline"
                : IsTzCodeOnPatient(resource, text, issue)
                    ? "the shared conventions put the core tz-code extension on Patient; R4 defines it for date/dateTime/instant only"
                : null;
            if (reason is not null)
            {
                issue.Severity = OperationOutcome.IssueSeverity.Warning;
                issue.Diagnostics = $"{issue.Diagnostics} (downgraded from error: {reason})".Trim();
            }
        }
    }

    private static bool IsError(OperationOutcome.IssueComponent issue) =>
        issue.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal;

    private static bool IsUnresolvedBackportDefinition(string text)
    {
        if (!text.StartsWith(UnresolvedPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var quoted = text.Split('\'');
        return quoted.Length >= 2 && ProfileValidator.BackportDefinitionPrefixes.Any(p => quoted[1].StartsWith(p, StringComparison.Ordinal));
    }

    // An extension-context error located exactly at a Patient's own top-level tz-code extension.
    private static bool IsTzCodeOnPatient(Resource resource, string text, OperationOutcome.IssueComponent issue)
    {
        if (resource is not Patient || !text.StartsWith(ContextMessage, StringComparison.Ordinal))
        {
            return false;
        }

        var locations = issue.Expression.Concat(issue.Location).OfType<string>().ToList();
        return locations.Count > 0 && locations.All(location =>
            System.Text.RegularExpressions.Regex.IsMatch(location, @"^Patient\.extension\[\d+\]$")
            && resource.Select(location + ".url").SingleOrDefault() is PrimitiveType url
            && url.JsonValue as string == TzCodeUrl);
    }
}
