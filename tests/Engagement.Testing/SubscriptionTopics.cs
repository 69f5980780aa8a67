using Hl7.Fhir.Model;

namespace Engagement.Testing;

/// <summary>Reads R4 backport SubscriptionTopics (Basic with R5 cross-version extensions).</summary>
public static class SubscriptionTopics
{
    /// <summary>Prefix of the R5 SubscriptionTopic cross-version extensions.</summary>
    public const string ExtensionPrefix = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.";

    /// <summary>True when the Basic is a SubscriptionTopic (code <c>fhir-types#SubscriptionTopic</c>).</summary>
    public static bool IsTopic(Basic basic)
    {
        ArgumentNullException.ThrowIfNull(basic);
        return basic.Code?.Coding.Any(c => c.System == "http://hl7.org/fhir/fhir-types" && c.Code == "SubscriptionTopic") == true;
    }

    /// <summary>The topic's canonical url (extension <c>SubscriptionTopic.url</c>).</summary>
    public static string? Url(Basic basic)
    {
        ArgumentNullException.ThrowIfNull(basic);
        return (basic.GetExtension(ExtensionPrefix + "url")?.Value as FhirUri)?.Value;
    }

    /// <summary>The canonical of the resource type the topic triggers on (<c>resourceTrigger.resource</c>).</summary>
    public static string? TriggerResource(Basic basic)
    {
        ArgumentNullException.ThrowIfNull(basic);
        var trigger = basic.GetExtension(ExtensionPrefix + "resourceTrigger");
        return (trigger?.GetExtension("resource")?.Value as FhirUri)?.Value;
    }

    /// <summary>The topic's status (modifier extension <c>SubscriptionTopic.status</c>).</summary>
    public static string? Status(Basic basic)
    {
        ArgumentNullException.ThrowIfNull(basic);
        return (basic.ModifierExtension.FirstOrDefault(e => e.Url == ExtensionPrefix + "status")?.Value as Code)?.Value;
    }
}
