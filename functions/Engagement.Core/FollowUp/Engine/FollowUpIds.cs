using System.Security.Cryptography;
using System.Text;
using Engagement.FollowUp;

namespace Engagement.FollowUp.Engine;

/// <summary>Deterministic FHIR ids and identifiers for what a run creates (a retried activity writes the same ids).</summary>
public static class FollowUpIds
{
    public const string Base = "http://engagement-functions.org/fhir";
    public const string TaskIdentifierSystem = Base + "/identifier/task";
    public const string CarePlanIdentifierSystem = Base + "/identifier/careplan";
    public const string FollowUpIdentifierSystem = Base + "/identifier/followup";
    public const string CommunicationIdentifierSystem = Base + "/identifier/communication";
    public const string TaskCodeSystem = Base + "/CodeSystem/engagement-task-code";

    public static string CarePlan(string instanceId) => "cp-" + Hash(instanceId);

    public static string Task(string instanceId, string occurrenceKey) => "t-" + Hash(instanceId + "/" + occurrenceKey);

    public static string Escalation(string instanceId, string occurrenceKey) => "esc-" + Hash(instanceId + "/" + occurrenceKey);

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)).AsSpan(0, 16));
}
