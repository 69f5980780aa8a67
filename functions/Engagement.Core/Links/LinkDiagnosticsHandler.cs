using System.Text.Json;
using Engagement.Diagnostics;
using Engagement.Http;
using Engagement.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Links;

/// <summary>
/// Test-only admin routes under <c>/api/diagnostics/links</c> (X-Admin-Key, and only when
/// <c>Engagement:Diagnostics:Enabled</c> is true; 404 otherwise): issue a link for given ids, revoke one, and submit
/// once (mark used) the way the response route will. In production the follow-up engine issues links through
/// <see cref="LinkIssuer"/>; these routes are not part of the product contract.
/// </summary>
public sealed class LinkDiagnosticsHandler(
    AdminKeyAuthorizer admin,
    IOptionsMonitor<DiagnosticsOptions> options,
    LinkIssuer issuer,
    LinkValidator validator)
{
    private const int MaxBodyBytes = 16 * 1024;

    public async Task<IResult> IssueAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Deny(request) is { } denied)
        {
            return denied;
        }

        var body = await ReadAsync<IssueBody>(request, cancellationToken);
        if (body is not { PatientId.Length: > 0, TaskId.Length: > 0, Questionnaire.Length: > 0, InstanceId.Length: > 0 })
        {
            return FhirResults.BadRequest("Send JSON with patientId, taskId, questionnaire, instanceId and optionally lifetimeSeconds.");
        }

        TimeSpan? lifetime = body.LifetimeSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        if (lifetime is { } l && (l <= TimeSpan.Zero || l > TimeSpan.FromDays(90)))
        {
            return FhirResults.BadRequest("lifetimeSeconds must be positive and at most 90 days.");
        }

        var link = await issuer.IssueAsync(new LinkIssueRequest(body.PatientId, body.TaskId, body.Questionnaire, body.InstanceId, lifetime), cancellationToken);
        return Results.Json(new { linkId = link.LinkId, token = link.Token, url = link.Url, expiresAt = link.ExpiresAt }, statusCode: StatusCodes.Status201Created);
    }

    public async Task<IResult> RevokeAsync(HttpRequest request, string linkId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Deny(request) is { } denied)
        {
            return denied;
        }

        return await validator.RevokeAsync(linkId, cancellationToken)
            ? Results.NoContent()
            : FhirResults.NotFound("No such engagement link.");
    }

    /// <summary>Validates the token in the body and marks the link used, as a response submission does.</summary>
    public async Task<IResult> UseAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Deny(request) is { } denied)
        {
            return denied;
        }

        var body = await ReadAsync<UseBody>(request, cancellationToken);
        if (body is not { Token.Length: > 0 })
        {
            return FhirResults.BadRequest("Send JSON with the token.");
        }

        var validation = await validator.ValidateAsync(body.Token, cancellationToken);
        if (validation.IsValid)
        {
            validation = await validator.MarkUsedAsync(body.Token, validation.Context.ETag, cancellationToken);
        }

        return validation.IsValid ? Results.NoContent() : EngageHandler.Refused(validation.Failure.Value);
    }

    private IResult? Deny(HttpRequest request) =>
        !options.CurrentValue.Enabled ? FhirResults.NotFound("Not found.") : admin.Challenge(request);

    private static async Task<T?> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength is > MaxBodyBytes)
        {
            return null;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, JsonSerializerOptions.Web, cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record IssueBody(string? PatientId, string? TaskId, string? Questionnaire, string? InstanceId, double? LifetimeSeconds);

    private sealed record UseBody(string? Token);
}
