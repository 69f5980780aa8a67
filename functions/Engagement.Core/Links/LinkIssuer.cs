using Engagement.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Links;

/// <summary>What a link is bound to. Ids only; the lifetime comes from the protocol (null: the configured default).</summary>
public sealed record LinkIssueRequest(string PatientId, string TaskId, string QuestionnaireCanonical, string InstanceId, TimeSpan? Lifetime = null);

/// <summary>An issued link: the token, the URL to send the patient, and when it stops working.</summary>
public sealed record IssuedLink(string LinkId, string Token, Uri Url, DateTimeOffset ExpiresAt);

/// <summary>Issues engagement links <c>{PublicBaseUrl}/engage/{token}</c>; the follow-up engine calls this.</summary>
public sealed class LinkIssuer(
    ILinkStore store,
    LinkKeyRing keys,
    IOptionsMonitor<LinkOptions> linkOptions,
    IOptionsMonitor<EngagementOptions> engagementOptions,
    TimeProvider clock,
    ILogger<LinkIssuer> logger)
{
    public async Task<IssuedLink> IssueAsync(LinkIssueRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireId(request.PatientId, nameof(request.PatientId));
        RequireId(request.TaskId, nameof(request.TaskId));
        RequireId(request.QuestionnaireCanonical, nameof(request.QuestionnaireCanonical));
        RequireId(request.InstanceId, nameof(request.InstanceId));
        var options = linkOptions.CurrentValue;
        var lifetime = request.Lifetime ?? options.DefaultLifetime;
        if (lifetime <= TimeSpan.Zero || lifetime > options.MaximumLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"A link lifetime must be positive and at most {options.MaximumLifetime}.");
        }

        var baseUrl = engagementOptions.CurrentValue.PublicBaseUrl
            ?? throw new InvalidOperationException("Engagement:PublicBaseUrl is required to issue engagement links.");
        var (keyId, secret) = keys.Active();
        var now = clock.GetUtcNow();
        var record = new LinkRecord
        {
            LinkId = LinkToken.NewLinkId(),
            PatientId = request.PatientId,
            TaskId = request.TaskId,
            QuestionnaireCanonical = request.QuestionnaireCanonical,
            InstanceId = request.InstanceId,
            KeyId = keyId,
            IssuedAt = now,
            ExpiresAt = now + lifetime,
        };
        await store.CreateAsync(record, cancellationToken);
        var token = LinkToken.Create(keyId, secret, record.LinkId);
        logger.LogInformation("Issued engagement link {LinkId} for task {TaskId} (key {KeyId}), expires {ExpiresAt:o}", record.LinkId, record.TaskId, keyId, record.ExpiresAt);
        return new IssuedLink(record.LinkId, token, new Uri(baseUrl.ToString().TrimEnd('/') + "/engage/" + token), record.ExpiresAt);
    }

    private static void RequireId(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > 1024)
        {
            throw new ArgumentException($"{name} is required (at most 1024 characters).", name);
        }
    }
}
