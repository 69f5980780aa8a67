using Engagement.Links;

namespace Engagement.FollowUp.Engine;

/// <summary>The engine's links come from the engagement-link issuer: signed, expiring, single-use, no PHI in the URL.</summary>
public sealed class LinkIssuerFollowUpLinks(LinkIssuer issuer, TimeProvider time) : IFollowUpLinks
{
    public async Task<Uri> IssueAsync(string patientId, string taskId, string questionnaireCanonical, string instanceId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var lifetime = expiresAt - time.GetUtcNow();
        var issued = await issuer.IssueAsync(
            new LinkIssueRequest(patientId, taskId, questionnaireCanonical, instanceId, lifetime > TimeSpan.FromMinutes(1) ? lifetime : TimeSpan.FromMinutes(1)),
            cancellationToken);
        return issued.Url;
    }
}
